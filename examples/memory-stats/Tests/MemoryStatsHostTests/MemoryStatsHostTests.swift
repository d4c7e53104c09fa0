import Foundation
import Synchronization
import RouterClient
import RouterCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `memory-stats-host` as a process, configured from JSON, driven over a real WebSocket: the example's
/// plugin is served next to a built-in one, with its options from the config file.
@Suite(.serialized, .timeLimit(.minutes(1))) struct MemoryStatsHostTests {
    @Test func servesTheExamplePluginNextToTheBuiltInOnesFromAJSONConfig() async throws {
        let config = try ConfigFile("""
            {"server": {"port": 0},
             "logging": {"level": "info"},
             "plugins": [{"name": "memory-stats", "options": {"maxTopTags": 3}}, {"name": "search"}]}
            """)
        let host = try HostProcess.start(["--config", config.path])
        defer { host.stop() }
        let port = try await host.port()
        let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(port)/ws/memory")
        var chunks: [JSONValue] = []
        var result: RouterEvent?
        for try await event in client.request(type: "memory_stats", data: ["top": 3]) {
            switch event.kind {
            case .chunk: chunks.append(event.fields)
            case .result: result = event
            case .progress: break
            }
        }
        #expect(chunks.count == 3)
        let memories = try #require(result?.fields["memories"])
        #expect(memories != .number(0), "the host loaded the sample memories")
        // The option from the config file applies: 4 is above maxTopTags 3.
        await #expect(throws: RouterError.self) {
            for try await _ in client.request(type: "memory_stats", data: ["top": 4]) {}
        }
        // The built-in plugin listed beside it is served too.
        let search = try await client.result(type: "memory_search", data: ["query": "coffee", "limit": 2])
        #expect(search.fields["results"] != nil)
        await client.close()
        #expect(await host.terminate() == 0, "graceful shutdown on SIGTERM")
    }

    @Test func checkConfigRejectsBadPluginOptionsWithTheirPath() async throws {
        let config = try ConfigFile(#"{"plugins": [{"name": "memory-stats", "options": {"maxTopTags": 0}}]}"#)
        let host = try HostProcess.start(["--check-config", "--config", config.path])
        let status = await host.exit()
        #expect(status == 2)
        #expect(host.log.text.contains("plugins[0].options.maxTopTags: must be between 1 and 1000, got 0"), "\(host.log.text)")
    }
}

/// A temporary config file, removed when the test ends.
final class ConfigFile {
    let path: String

    init(_ json: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("memory-stats-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Collects a pipe's text and wakes waiters when it grows or closes (no polling).
final class LogReader: Sendable {
    private struct State {
        var text = ""
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init(_ handle: FileHandle) {
        // A thread of its own reads the pipe to its end with blocking reads. (`readabilityHandler` was used
        // before: on Linux it once never reported the pipe's close, and a CI run hung in `exit()`.)
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                let waiters = state.withLock { state in
                    if data.isEmpty { state.closed = true } else { state.text += String(decoding: data, as: UTF8.self) }
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
                if data.isEmpty { return }
            }
        }
        thread.start()
    }

    var text: String { state.withLock { $0.text } }

    /// Waits until `match` finds something in the text (returns it) or the pipe closes (returns nil).
    func wait<T>(for match: (String) -> T?) async -> T? {
        while true {
            let (found, closed): (T?, Bool) = state.withLock { (match($0.text), $0.closed) }
            if let found { return found }
            if closed { return nil }
            let seen = text.utf8.count
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.closed || state.text.utf8.count != seen { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}

/// The example's executable (built next to this test bundle) as a child process.
struct HostProcess {
    let process: Process
    let log: LogReader

    static func start(_ arguments: [String]) throws -> HostProcess {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("memory-stats-host")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = err
        let log = LogReader(err.fileHandleForReading)
        try process.run()
        return HostProcess(process: process, log: log)
    }

    /// The port from the host's "listening on" line; fails if the host exits first.
    func port() async throws -> Int {
        let port = await log.wait { text -> Int? in
            guard let range = text.range(of: #"listening on http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression) else { return nil }
            return Int(text[range].dropFirst("listening on http://127.0.0.1:".count).dropLast())
        }
        guard let port else { throw HostExited(log: log.text) }
        return port
    }

    /// Waits for the process to end (its output pipe closes then) and returns its exit status.
    func exit() async -> Int32 {
        _ = await log.wait { _ -> Bool? in nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGTERM, then the exit status.
    func terminate() async -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        return await exit()
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct HostExited: Error, CustomStringConvertible {
    let log: String
    var description: String { "the host exited before listening:\n\(log)" }
}
