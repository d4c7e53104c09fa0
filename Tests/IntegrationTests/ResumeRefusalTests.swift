import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Testing

/// What a client must hold to resume: the `welcome`'s session and token.
private struct Credentials {
    let session: String
    let token: String

    init(welcome: JSONValue) throws {
        guard case .string(let session)? = welcome["session"], case .string(let token)? = welcome["token"] else {
            throw RawSocketError(description: "welcome without session and token: \(welcome)")
        }
        self.session = session
        self.token = token
    }

    func resume(lastSeq: Int, token: String? = nil) -> String {
        #"{"type":"resume","session":"\#(session)","token":"\#(token ?? self.token)","lastSeq":\#(lastSeq)}"#
    }
}

/// Polls `condition` (a server-side counter) until it holds or 30 s pass.
private func eventually(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// Reports progress, then waits for its `Gate` (or its cancellation) and completes.
private struct HeldHandler: OperationHandler {
    struct Response: Encodable, Sendable { var released: Bool }
    static let messageType = "held"
    static let timeout: Duration = .seconds(600)
    static let stages = [ProgressStage("waiting")]
    let release: Gate

    func handle(_ request: JSONValue, context: OperationContext) async throws -> Response {
        context.progress("waiting", 0.5)
        await withTaskCancellationHandler {
            await release.wait()
        } onCancel: {
            release.open()
        }
        try Task.checkCancellation()
        return Response(released: true)
    }
}

private func heldRouter(_ release: Gate) throws -> Router {
    try RouterBuilder().register(HeldHandler(release: release)).build()
}

/// DESIGN §6 refusals and takeover, over real sockets: a real server, clients that drop their TCP
/// connection without a close frame.
@Suite("Resume refusals and takeover over real sockets")
struct ResumeRefusalTests {
    @Test func aResumeAfterTheWindowIsRefusedAsExpiredAndTheOperationWasCancelled() async throws {
        try await LiveRouter.with(try heldRouter(Gate()), configure: { _, settings in
            settings.resume.window = .milliseconds(200)
        }) { server in
            let first = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let credentials = try Credentials(welcome: try await first.nextJSON())
            try first.send(text: #"{"type":"held","id":"x"}"#)
            #expect(await eventually { server.service.inFlightTotal == 1 })
            first.disconnect()
            #expect(await eventually { server.service.metrics.snapshot().sessions.expired == 1 })
            #expect(await eventually { server.service.inFlightTotal == 0 })
            #expect(server.service.metrics.snapshot().operations["held"]?.cancelled == 1)

            let second = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await second.nextJSON()
            try second.send(text: credentials.resume(lastSeq: 1))
            let refusal = try await second.nextJSON()
            #expect(refusal["type"] == "resume_failed")
            #expect(refusal["reason"] == "expired")
            try second.close()
        }
    }

    @Test func resultsThatOverflowTheBufferWhileDetachedAreAGap() async throws {
        let release = Gate()
        try await LiveRouter.with(try heldRouter(release), configure: { _, settings in
            settings.resume.bufferMessages = 4
        }) { server in
            let first = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let credentials = try Credentials(welcome: try await first.nextJSON())
            for index in 0..<6 { try first.send(text: #"{"type":"held","id":"r\#(index)"}"#) }
            #expect(await eventually { server.service.inFlightTotal == 6 })
            first.disconnect()
            #expect(await eventually { server.service.metrics.snapshot().sessions.detachedCurrent == 1 })
            // Six results while detached: more than four messages.
            release.open()
            #expect(await eventually { server.service.metrics.snapshot().operations["held"]?.completed == 6 })

            let second = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await second.nextJSON()
            try second.send(text: credentials.resume(lastSeq: 1))
            let refusal = try await second.nextJSON()
            #expect(refusal["type"] == "resume_failed")
            #expect(refusal["reason"] == "gap")
            #expect(server.service.metrics.snapshot().sessions.resumeFailures["gap"] == 1)
            try second.close()
        }
    }

    @Test func aWrongTokenIsRefusedWithoutHarmAndTheOwnerResumesExactlyOnce() async throws {
        let release = Gate()
        // The held handler's progress is the marker these tests wait for: sent from the start.
        try await LiveRouter.with(try heldRouter(release), configure: { _, settings in settings.progressQuietPeriod = .zero }) { server in
            let first = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let credentials = try Credentials(welcome: try await first.nextJSON())
            try first.send(text: #"{"type":"held","id":"x"}"#)
            #expect(await eventually { server.service.inFlightTotal == 1 })
            first.disconnect()
            #expect(await eventually { server.service.metrics.snapshot().sessions.detachedCurrent == 1 })

            let stranger = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await stranger.nextJSON()
            try stranger.send(text: credentials.resume(lastSeq: 1, token: String(repeating: "0", count: 32)))
            let refusal = try await stranger.nextJSON()
            #expect(refusal["reason"] == "bad_token")
            #expect(server.service.inFlightTotal == 1)
            try stranger.close()

            let owner = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await owner.nextJSON()
            try owner.send(text: credentials.resume(lastSeq: 1))
            let resumed = try await owner.nextJSON()
            #expect(resumed["type"] == "resumed")
            #expect(resumed["inFlight"] == .array(["x"]))
            // The progress sent before the drop (seq 2) is replayed: the client had only seen seq 1.
            let replayed = try await owner.nextJSON()
            #expect(replayed["type"] == "held_progress")
            #expect(replayed["seq"] == 2)
            release.open()
            let messages = try await owner.collect(until: "held_complete")
            #expect(messages.count == 1)
            #expect(messages.first?["seq"] == 3)
            // Nothing else for x: the next message is the pong of a ping sent now.
            try owner.send(text: #"{"type":"ping","id":"after"}"#)
            let pong = try await owner.nextJSON()
            #expect(pong["type"] == "pong")
            #expect(pong["seq"] == 4)
            try owner.close()
        }
    }

    @Test func aResumeWhileTheOldConnectionIsHalfOpenTakesItOverAndClosesItWith4001() async throws {
        let release = Gate()
        // The held handler's progress is the marker these tests wait for: sent from the start.
        try await LiveRouter.with(try heldRouter(release), configure: { _, settings in settings.progressQuietPeriod = .zero }) { server in
            var options = WebSocketClient.Options()
            options.answerPings = false
            let old = try WebSocketClient.connect(port: server.port, path: "/ws/memory", options: options)
            let credentials = try Credentials(welcome: try await old.nextJSON())
            try old.send(text: #"{"type":"held","id":"x"}"#)
            #expect(await eventually { server.service.inFlightTotal == 1 })

            // The old connection never closed: to the server it still looks alive.
            let new = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await new.nextJSON()
            try new.send(text: credentials.resume(lastSeq: 1))
            let resumed = try await new.nextJSON()
            #expect(resumed["type"] == "resumed")
            var closeCode: UInt16?
            while closeCode == nil {
                switch try await old.next() {
                case .close(let code, let reason):
                    closeCode = code
                    #expect(reason == "session resumed elsewhere")
                case .disconnected, nil:
                    Issue.record("the old connection ended without a close frame")
                    closeCode = 0
                default:
                    continue
                }
            }
            #expect(closeCode == 4001)
            release.open()
            let messages = try await new.collect(until: "held_complete")
            // The progress (replayed or live), then the result, once: seq 2 and 3.
            #expect(messages.map(\.messageType) == ["held_progress", "held_complete"])
            #expect(messages.map { $0["seq"] } == [2, 3])
            #expect(server.service.metrics.snapshot().sessions.detached == 0)
            try new.close()
        }
    }
}

/// A log handler that lets a test wait for a message: the server's own "draining: …" line says the
/// drain has begun, without polling.
private final class LogSignal: LogHandler, Sendable {
    private struct Waiter {
        let text: String
        let continuation: CheckedContinuation<Bool, Never>
    }

    private let state = Locked<(messages: [String], waiters: [UInt64: Waiter], next: UInt64)>(([], [:], 0))

    func log(_ record: LogRecord) {
        let ready = state.withLock { state -> [Waiter] in
            state.messages.append(record.message)
            let ready = state.waiters.filter { record.message.contains($0.value.text) }
            for id in ready.keys { state.waiters[id] = nil }
            return Array(ready.values)
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// Returns true once a message containing `text` was logged; false if none was within `timeout`.
    func wait(for text: String, timeout: Duration = .seconds(30)) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id = state.withLock { state -> UInt64? in
                if state.messages.contains(where: { $0.contains(text) }) { return nil }
                state.next += 1
                state.waiters[state.next] = Waiter(text: text, continuation: continuation)
                return state.next
            }
            guard let id else { return continuation.resume(returning: true) }
            Task { [state] in
                try? await Task.sleep(for: timeout)
                state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: false)
            }
        }
    }
}

@Suite("Graceful shutdown over real sockets")
struct GracefulShutdownTests {
    /// DESIGN §6 and DEPLOY.md: while a shutdown waits for an operation in flight, the listener stays open:
    /// `/healthz` answers 503 `draining` (a load balancer takes the host out of rotation), a new WebSocket
    /// upgrade gets 503, a new request on an open connection gets `overloaded`; the running operation
    /// completes with its result, then the connection closes with 1001 and the server ends.
    @Test func drainingAnswersHealthzAndUpgradesWith503WhileTheRunningOperationCompletes() async throws {
        let release = Gate()
        let router = try heldRouter(release)
        var transport = TransportConfiguration()
        transport.host = "127.0.0.1"
        transport.port = 0
        transport.eventLoops = 1
        let logs = LogSignal()
        let server = try RouterServer.start(
            router: router, transport: transport, logger: Logger(label: "test", level: .info, handler: logs))
        let runner = Task(executorPreference: RouterExecutors.control) { await server.run() }
        let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
        _ = try await client.nextJSON()
        try client.send(text: #"{"type":"held","id":"running"}"#)
        let progress = try await client.nextJSON()
        #expect(progress["type"] == "held_progress")  // the handler runs: one operation in flight

        let shutdown = Task { await server.shutdown(grace: .seconds(60)) }
        try #require(await logs.wait(for: "draining:"), "the shutdown did not report that it drains")

        let health = try rawExchange(port: server.port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).text
        #expect(health.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(health)")
        #expect(health.hasSuffix(#"{"status":"draining","connections":1,"inFlight":1}"#), "\(health)")

        let upgrade = try rawExchange(port: server.port, upgradeRequest(path: "/ws/memory")).text
        #expect(upgrade.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(upgrade)")
        #expect(upgrade.contains("the server is draining (shutting down) and takes no new WebSocket connections"), "\(upgrade)")
        #expect(throws: HTTPRejection.self) { try WebSocketClient.connect(port: server.port, path: "/ws/memory") }

        try client.send(text: #"{"type":"held","id":"late"}"#)
        let late = try await client.nextJSON()
        #expect(late["id"] == "late")
        #expect(late["code"] == "overloaded")
        #expect(late["message"] == "the server is shutting down and takes no new requests")

        release.open()
        let finished = try await client.nextJSON()
        #expect(finished["type"] == "held_complete")
        #expect(finished["id"] == "running")
        #expect(finished["released"] == true)
        // Nothing left in flight: the server closes at once (not at the end of the 60 s grace).
        var closeCode: UInt16?
        while closeCode == nil {
            switch try await client.next(timeout: .seconds(10)) {
            case .close(let code, _): closeCode = code
            case .ping, .pong: continue
            case let other: Issue.record("expected the close frame, got \(String(describing: other))"); closeCode = 0
            }
        }
        #expect(closeCode == 1001)
        try? client.close(code: 1001)  // answers the close handshake, so the shutdown need not wait it out
        await shutdown.value
        await runner.value
        #expect(throws: (any Error).self) { try rawExchange(port: server.port, []) }  // the listener is closed
    }
}
