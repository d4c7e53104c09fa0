/// `router-host`'s command line, parsed without ArgumentParser.
struct CommandLineOptions: Equatable {
    var configPath: String?
    var port: Int?
    var dataDirectory: String?
    var checkConfig = false
    /// `router-host repair --data DIR` (or `--repair`): salvage a damaged memory log, then exit.
    var repair = false
    var help = false

    /// A one-line usage error (exit code 2).
    struct Error: Swift.Error, Equatable, CustomStringConvertible {
        let description: String
    }

    static let optionNames = ["--config", "--port", "--data", "--check-config", "--repair", "--help"]

    static func parse(_ arguments: [String]) throws(Error) -> CommandLineOptions {
        var options = CommandLineOptions()
        var index = 0
        if arguments.first == "repair" {
            options.repair = true
            index = 1
        }
        func value(for name: String, inline: String?) throws(Error) -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.count, !arguments[index].hasPrefix("--") else { throw Error(description: "\(name): missing value") }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            let parts = argument.split(separator: "=", maxSplits: 1)
            let name = String(parts[0])
            let inline = parts.count > 1 ? String(parts[1]) : nil
            switch name {
            case "--config":
                options.configPath = try value(for: name, inline: inline)
            case "--port":
                let text = try value(for: name, inline: inline)
                guard let port = Int(text), (0...65535).contains(port) else {
                    throw Error(description: "--port: expected an integer between 0 and 65535, got '\(text)'")
                }
                options.port = port
            case "--data":
                options.dataDirectory = try value(for: name, inline: inline)
            case "--check-config":
                options.checkConfig = true
            case "--repair":
                options.repair = true
            case "-h", "--help":
                options.help = true
            default:
                if let suggestion = Suggestions.nearest(name, in: optionNames) {
                    throw Error(description: "unknown option '\(name)' (did you mean '\(suggestion)'?)")
                }
                throw Error(description: "unknown option '\(name)' (see --help)")
            }
            index += 1
        }
        return options
    }

    static let helpText = """
        router-host: the Memory Router server (WebSocket memory operations, dashboard, metrics)

        usage: router-host [--config FILE] [--port N] [--data DIR] [--check-config] [--help]
               router-host repair --data DIR      (or --repair; DIR may come from --config's memory.dataDirectory)

          --config FILE    JSON configuration (every key documented in CONFIG.md; examples in config/).
                           Without it: the embedded default (all built-in plugins, sample memories,
                           dashboard) on 127.0.0.1:8765.
          --port N         listen on port N (0 = any free port), overriding server.port
          --data DIR       keep memories durably in DIR, overriding memory.dataDirectory
          --check-config   validate the configuration, print every problem, and exit (0 = valid)
          repair, --repair salvage a damaged memory log in the data directory and exit: the log is first
                           copied to memories.log.corrupt-<UTC time> (never deleted), then every record with
                           a valid checksum is kept; prints what was kept and lost. The host must not be
                           running. A host refuses to start on a damaged log (other than a torn last record)
                           and says to run this.
          -h, --help       show this help

        Endpoints: ws://HOST:PORT/ws/memory (router), GET / (dashboard), GET /healthz, GET /metrics.
        Signals: SIGINT/SIGTERM stop gracefully (in-flight operations get shutdown.graceMs); a second signal exits at once.
        Exit codes: 0 success, 1 runtime failure (e.g. port in use, a damaged memory log), 2 invalid command line
        or configuration.
        """
}

/// Edit-distance suggestions for option names.
enum Suggestions {
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(Array(word), Array(candidate))
            if d <= 2, best == nil || d < best!.1 { best = (candidate, d) }
        }
        return best?.0
    }

    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
