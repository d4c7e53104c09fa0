import Foundation
import RouterClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `router-host` as a process with a real WebSocket client: graceful shutdown with an operation in
/// flight, and external plugins that crash or hang next to a built-in plugin.
@Suite("router-host lifecycle over WebSocket", .serialized)
struct HostLifecycleTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func script(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

    /// The Python example plugin's config entry.
    static let textStats: [String: any Sendable] = [
        "name": "text-stats", "command": ["python3", script("examples/text_stats_plugin.py")],
        "messageTypes": ["text_stats"],
    ]

    /// Writes a config file (port 0, the search plugin, plus `plugins`) and returns its path.
    static func writeConfig(plugins: [[String: Any]], graceMs: Int = 10_000) throws -> URL {
        let config: [String: Any] = [
            "server": ["port": 0],
            "shutdown": ["graceMs": graceMs],
            "plugins": [["name": "search"]] + plugins,
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("host-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: config).write(to: file)
        return file
    }

    /// The test fixture whose `hold` operation stays in flight until the test writes to its FIFO.
    static let heldPlugin: [String: any Sendable] = [
        "name": "held", "command": ["python3", script("examples/test-fixtures/held_plugin.py")], "messageTypes": ["hold"],
    ]

    /// DEPLOY.md "a host is drained": on SIGTERM the host keeps listening while an operation runs. `/healthz`
    /// answers 503 `draining` (a load balancer stops sending it connections), a new WebSocket upgrade gets
    /// 503, a new request on the open connection gets `overloaded`; the running operation completes with its
    /// result; then, nothing being in flight, the host closes with 1001 and exits 0 without waiting out the grace.
    @Test func sigtermDrainsAnswering503UntilTheInFlightOperationCompletesThenClosesWith1001AndExits0() async throws {
        let config = try Self.writeConfig(plugins: [Self.heldPlugin], graceMs: 120_000)
        defer { try? FileManager.default.removeItem(at: config) }
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)").path
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let (host, port) = try await HostProcess.start(["--config", config.path])
        defer { host.signal(SIGKILL) }

        let client = try WebSocketClient.connect(port: port, path: "/ws/memory")
        let welcome = try await client.nextMessage()
        #expect(welcome["type"] as? String == "welcome")
        try client.send(text: try jsonText(["type": "hold", "id": "h1", "data": ["release": fifo]]))
        let first = try await client.nextMessage()
        #expect(first["type"] as? String == "hold_chunk", "\(first)")  // in flight, and its FIFO is open

        host.signal(SIGTERM)
        #expect(await host.log.waitFor("draining:"), "\(host.log.text)")
        let health = httpGet(port: port, path: "/healthz")
        #expect(health?.hasPrefix("HTTP/1.1 503 ") == true, "\(health ?? "refused")")
        #expect(health?.hasSuffix(#"{"status":"draining","connections":1,"inFlight":1}"#) == true, "\(health ?? "refused")")
        do {
            _ = try WebSocketClient.connect(port: port, path: "/ws/memory")
            Issue.record("a new WebSocket connection was accepted while draining")
        } catch let rejection as HTTPRejection {
            #expect(rejection.status == 503)
            #expect(rejection.body.contains("draining"), "\(rejection.body)")
        }
        try client.send(text: try jsonText(["type": "hold", "id": "late", "data": [:] as [String: Any]]))
        let late = try await client.nextMessage()
        #expect(late["id"] as? String == "late")
        #expect(late["code"] as? String == "overloaded", "\(late)")

        // Release the operation: it completes with its result; only then does the host close with 1001.
        let writer = open(fifo, O_WRONLY | O_NONBLOCK)
        #expect(writer >= 0, "the plugin does not hold the FIFO open (errno \(errno))")
        _ = write(writer, "go\n", 3)
        close(writer)
        var types: [String] = []
        var closeCode: UInt16?
        while closeCode == nil {
            guard let event = try await client.next(timeout: .seconds(15)) else { break }
            switch event {
            case .text(let text):
                let message = try jsonObject(text)
                types.append(message["type"] as? String ?? "?")
                if message["type"] as? String == "hold_complete" {
                    #expect(message["id"] as? String == "h1")
                    #expect(message["released"] as? Bool == true)
                }
            case .close(let code, _): closeCode = code
            case .disconnected: closeCode = 0
            default: continue
            }
        }
        #expect(types == ["hold_complete"], "events before the close: \(types)")
        #expect(closeCode == 1001)
        try? client.close(code: 1001)
        let (status, log) = await host.wait()
        #expect(status == 0, "\(log)")
        #expect(log.contains("drained: no operation in flight"), "\(log)")
        #expect(log.contains("stopped"))
        #expect(openTCP(port: port) == nil, "the listener is closed once the host exits")
    }

    @Test func aSecondSignalDuringTheGracePeriodExitsAtOnce() async throws {
        let config = try Self.writeConfig(plugins: [Self.textStats], graceMs: 60_000)
        defer { try? FileManager.default.removeItem(at: config) }
        let (host, port) = try await HostProcess.start(["--config", config.path])
        defer { host.signal(SIGKILL) }

        let client = try WebSocketClient.connect(port: port, path: "/ws/memory")
        _ = try await client.nextMessage()
        // About 20 s of work: the first signal's grace period would wait for it.
        let text = (1...10).map { "Paragraph \($0)." }.joined(separator: "\n\n")
        try client.send(text: try jsonText(["type": "text_stats", "id": "long", "data": ["text": text, "delayMs": 2000]]))
        let first = try await client.nextMessage()
        #expect(first["type"] as? String == "stats_progress", "\(first)")

        host.signal(SIGTERM)
        // The second signal must arrive while the graceful shutdown runs: wait until the host says it started.
        #expect(await host.log.waitFor("stopping (grace"), "\(host.log.text)")
        let secondAt = ContinuousClock.now
        host.signal(SIGTERM)
        let (status, log) = await host.wait()
        #expect(secondAt.duration(to: .now) < .seconds(10), "the host took \(secondAt.duration(to: .now)) to exit")
        #expect(status == 1, "\(log)")
        #expect(log.contains("again: exiting now"), "\(log)")
    }

    @Test func crashingAndHangingPluginsFailTheirRequestsWhileABuiltInCompletesAndTheCrashedOneRestarts() async throws {
        let fixture = Self.script("examples/test-fixtures/misbehaving_plugin.py")
        let config = try Self.writeConfig(plugins: [
            ["name": "crashy", "command": ["python3", fixture, "crash"], "messageTypes": ["crash_op"]],
            ["name": "hangy", "command": ["python3", fixture, "hang"], "messageTypes": ["hang_op"], "timeoutMs": 1000],
        ])
        defer { try? FileManager.default.removeItem(at: config) }
        let (host, port) = try await HostProcess.start(["--config", config.path])
        defer { host.signal(SIGKILL) }

        let client = try WebSocketClient.connect(port: port, path: "/ws/memory")
        _ = try await client.nextMessage()
        try client.send(text: #"{"type":"crash_op","id":"c1","data":{"crash":true}}"#)
        try client.send(text: #"{"type":"hang_op","id":"h1","data":{"hang":true}}"#)
        try client.send(text: #"{"type":"memory_search","id":"m1","data":{"query":"coffee","limit":3}}"#)

        var finals: [String: [String: Any]] = [:]
        while finals.count < 3 {
            let message = try await client.nextMessage(timeout: .seconds(20))
            let type = message["type"] as? String ?? ""
            if type == "error" || type.hasSuffix("_complete"), let id = message["id"] as? String { finals[id] = message }
        }
        #expect(finals["m1"]?["type"] as? String == "search_complete")
        #expect((finals["m1"]?["results"] as? [Any])?.count == 3)
        #expect(finals["c1"]?["code"] as? String == "crash_op_error")
        #expect((finals["c1"]?["message"] as? String)?.contains("exited with status 3") == true, "\(finals["c1"] ?? [:])")
        #expect(finals["h1"]?["code"] as? String == "hang_op_timeout")

        // The crashed plugin is restarted (with backoff): a later request is answered by a new process.
        var answer: [String: Any] = [:]
        let deadline = ContinuousClock.now + .seconds(15)
        var attempt = 0
        while answer["type"] as? String != "crash_op_complete", ContinuousClock.now < deadline {
            attempt += 1
            try client.send(text: #"{"type":"crash_op","id":"again\#(attempt)","data":{}}"#)
            repeat {
                answer = try await client.nextMessage(timeout: .seconds(10))
            } while answer["id"] as? String != "again\(attempt)" || (answer["type"] as? String)?.hasSuffix("_progress") == true
                || (answer["type"] as? String)?.hasSuffix("_chunk") == true
            if answer["type"] as? String != "crash_op_complete" { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(answer["type"] as? String == "crash_op_complete", "\(answer)")
        #expect(host.log.text.contains("crash: exiting with status 3"), "the plugin's stderr goes to the host log")
        host.signal(SIGTERM)
        #expect(await host.wait().status == 0)
    }
}

struct UnexpectedMessage: Error, CustomStringConvertible {
    let description: String
}

func jsonText(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw UnexpectedMessage(description: "not a JSON object: \(text)")
    }
    return object
}

extension WebSocketClient {
    /// The next text message as a JSON object, skipping pings and pongs; throws on anything else.
    func nextMessage(timeout: Duration = .seconds(10)) async throws -> [String: Any] {
        while true {
            switch try await next(timeout: timeout) {
            case .text(let text)?: return try jsonObject(text)
            case .ping?, .pong?: continue
            case let other: throw UnexpectedMessage(description: "expected a text message, got \(String(describing: other))")
            }
        }
    }
}
