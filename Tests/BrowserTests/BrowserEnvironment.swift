import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where things are: Chromium, the `router-host` binary, the artifacts directory.
enum BrowserEnvironment {
    /// The Chromium executable: `$CHROMIUM`, else `chromium` / `chromium-browser` / `google-chrome` on `PATH`.
    static let chromium: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["CHROMIUM"], FileManager.default.isExecutableFile(atPath: explicit) { return explicit }
        let directories = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for directory in directories {
                let path = directory + "/" + name
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }()

    static var chromiumMissing: Bool { chromium == nil }

    /// The package root (this file is `Tests/BrowserTests/BrowserEnvironment.swift`).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `artifacts/` in the package root (gitignored): screenshots and process logs.
    static let artifacts = packageRoot.appendingPathComponent("artifacts")
    static let screenshots = artifacts.appendingPathComponent("screenshots")
    static let logs = artifacts.appendingPathComponent("logs")

    /// The `router-host` built next to the test bundle (`.build/<triple>/debug/`), or `$ROUTER_HOST`.
    static func routerHost() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["ROUTER_HOST"] {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw BrowserTestError("ROUTER_HOST=\(explicit) is not an executable file")
            }
            return explicit
        }
        var candidates: [URL] = []
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("router-host"))
        if let argument = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: argument).deletingLastPathComponent().appendingPathComponent("router-host"))
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/router-host"))
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate.path
        }
        throw BrowserTestError(
            "router-host not found (looked in \(candidates.map(\.path).joined(separator: ", "))); "
                + "build it first (`swift build --build-tests`) or set ROUTER_HOST")
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrowserTestError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw BrowserTestError("bind: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw BrowserTestError("getsockname: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A fresh temporary directory.
    static func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A failure of the browser harness, with what is needed to understand it.
struct BrowserTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process whose stdout and stderr go to a log file under `artifacts/logs/`.
final class ChildProcess {
    let name: String
    let process = Process()
    let logURL: URL

    init(name: String, executable: String, arguments: [String]) throws {
        self.name = name
        try FileManager.default.createDirectory(at: BrowserEnvironment.logs, withIntermediateDirectories: true)
        logURL = BrowserEnvironment.logs.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// Everything the process wrote so far.
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// The last lines of the log, for error messages.
    func logTail(_ lines: Int = 30) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Polls the log until `find` returns a value; fails if the process exits or `timeout` passes.
    func waitForLog<T>(_ what: String, timeout: Duration, _ find: (String) -> T?) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if let value = find(log) { return value }
            if !process.isRunning {
                throw BrowserTestError(
                    "\(name) exited (status \(process.terminationStatus)) before \(what); log:\n\(logTail())")
            }
            if clock.now > deadline {
                throw BrowserTestError("\(name): no \(what) within \(timeout); log:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Sends `signal` and waits (up to `timeout`) for the process to end.
    @discardableResult
    func signal(_ signal: Int32, timeout: Duration = .seconds(10)) async -> Bool {
        guard process.isRunning else { return true }
        kill(process.processIdentifier, signal)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while process.isRunning, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !process.isRunning
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`.
    func stop(grace: Duration = .seconds(5)) async {
        if await signal(SIGTERM, timeout: grace) { return }
        await signal(SIGKILL)
    }
}

/// `router-host` started on 127.0.0.1 with the embedded default configuration and a fresh data directory.
final class RouterHostProcess {
    let child: ChildProcess
    let port: Int
    let dataDirectory: URL

    var baseURL: String { "http://127.0.0.1:\(port)/" }

    private init(child: ChildProcess, port: Int, dataDirectory: URL) {
        self.child = child
        self.port = port
        self.dataDirectory = dataDirectory
    }

    /// Starts the host on `port` (a free one if nil) and waits until it prints its URL.
    static func start(label: String, port: Int? = nil, extraArguments: [String] = []) async throws -> RouterHostProcess {
        let binary = try BrowserEnvironment.routerHost()
        let port = try port ?? BrowserEnvironment.freePort()
        let data = try BrowserEnvironment.temporaryDirectory("router-host-data")
        let child = try ChildProcess(
            name: "router-host-\(label)", executable: binary,
            arguments: ["--port", String(port), "--data", data.path] + extraArguments)
        do {
            let announced = try await child.waitForLog("its URL (http://127.0.0.1:PORT/)", timeout: .seconds(60)) { log in
                log.firstMatch(of: /http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\//).flatMap { Int($0.1) }
            }
            return RouterHostProcess(child: child, port: announced == 0 ? port : announced, dataDirectory: data)
        } catch {
            await child.stop()
            try? FileManager.default.removeItem(at: data)
            throw error
        }
    }

    /// Kills the host as a crash would (SIGKILL: no close frames, sockets reset by the kernel).
    func crash() async {
        await child.signal(SIGKILL)
    }

    func stop() async {
        await child.stop()
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

extension BrowserEnvironment {
    /// A config serving the dashboard together with the JS client's unit tests (`tests.html`, `tests.js`,
    /// kept in Tests/BrowserTests/ClientTests, out of the production bundle) from a temporary directory.
    static func clientTestsConfig(label: String, extra: String? = nil) throws -> URL {
        let directory = try temporaryDirectory("router-host-static-\(label)")
        let files = FileManager.default
        for source in [
            packageRoot.appendingPathComponent("Sources/RouterHost/Resources/dashboard"),
            packageRoot.appendingPathComponent("Tests/BrowserTests/ClientTests"),
        ] {
            for name in try files.contentsOfDirectory(atPath: source.path) {
                try files.copyItem(at: source.appendingPathComponent(name), to: directory.appendingPathComponent(name))
            }
        }
        let config = try temporaryDirectory("router-host-config").appendingPathComponent("\(label).json")
        let staticDirectory = String(decoding: try JSONEncoder().encode(directory.path), as: UTF8.self)
        let members = [#""server": {"staticDirectory": \#(staticDirectory)}"#] + (extra.map { [$0] } ?? [])
        try Data("{\(members.joined(separator: ", "))}".utf8).write(to: config)
        return config
    }
}
