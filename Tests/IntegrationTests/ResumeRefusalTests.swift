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

@Suite("Graceful shutdown over real sockets")
struct GracefulShutdownTests {
    @Test func duringTheGracePeriodNewRequestsAreRefusedAndRunningOnesFinish() async throws {
        let release = Gate()
        let router = try heldRouter(release)
        var transport = TransportConfiguration()
        transport.host = "127.0.0.1"
        transport.port = 0
        transport.eventLoops = 1
        let server = try RouterServer.start(router: router, transport: transport)
        let runner = Task(executorPreference: RouterExecutors.control) { await server.run() }
        let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
        _ = try await client.nextJSON()
        try client.send(text: #"{"type":"held","id":"running"}"#)
        #expect(await eventually { server.service.inFlightTotal == 1 })
        let shutdown = Task { await server.shutdown(grace: .seconds(30)) }
        // The shutdown has begun once new connections are refused; then a new request is refused too.
        #expect(await eventually { (try? WebSocketClient.connect(port: server.port, path: "/ws/memory")) == nil })
        try client.send(text: #"{"type":"held","id":"late"}"#)
        var late: JSONValue?
        while late == nil {
            let message = try await client.nextJSON()
            if message["id"] == "late" { late = message }
        }
        #expect(late?["type"] == "error")
        #expect(late?["code"] == "overloaded")
        #expect(late?["message"] == "the server is shutting down and takes no new requests")
        release.open()
        let finished = try await client.collect(until: "held_complete")
        #expect(finished.last?["id"] == "running")
        await shutdown.value
        await runner.value
    }
}
