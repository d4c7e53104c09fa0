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

/// Polls `condition` (a server-side counter) until it holds or 10 s pass.
private func eventually(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// DESIGN §6 refusals and takeover, over real sockets: a real server, clients that drop their TCP
/// connection without a close frame.
@Suite("Resume refusals and takeover over real sockets")
struct ResumeRefusalTests {
    @Test func aResumeAfterTheWindowIsRefusedAsExpiredAndTheOperationWasCancelled() async throws {
        try await LiveRouter.with(try testRouter(), configure: { _, settings in
            settings.resume.window = .milliseconds(200)
        }) { server in
            let first = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let credentials = try Credentials(welcome: try await first.nextJSON())
            try first.send(text: #"{"type":"slow","id":"x","data":{"ms":4000}}"#)
            #expect(await eventually { server.service.inFlightTotal == 1 })
            first.disconnect()
            #expect(await eventually { server.service.metrics.snapshot().sessions.expired == 1 })
            // The expiry cancels the operation; it ends (and is counted) once its handler returns.
            #expect(await eventually { server.service.inFlightTotal == 0 })
            #expect(await eventually { server.service.metrics.snapshot().operations["slow"]?.cancelled == 1 })

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
        try await LiveRouter.with(try testRouter(), configure: { _, settings in
            settings.resume.bufferMessages = 4
        }) { server in
            let first = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let credentials = try Credentials(welcome: try await first.nextJSON())
            for index in 0..<6 { try first.send(text: #"{"type":"slow","id":"r\#(index)","data":{"ms":300}}"#) }
            #expect(await eventually { server.service.inFlightTotal == 6 })
            first.disconnect()
            // Six results (and their progress) while detached: more than four messages.
            #expect(await eventually { server.service.inFlightTotal == 0 })

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
        try await LiveRouter.with(try testRouter()) { server in
            let first = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let credentials = try Credentials(welcome: try await first.nextJSON())
            try first.send(text: #"{"type":"slow","id":"x","data":{"ms":1500}}"#)
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
            let messages = try await owner.collect(until: "slow_complete")
            #expect(messages.filter { $0["id"] == "x" && $0.isFinalMessage }.count == 1)
            var seqs = messages.compactMap { if case .number(let seq)? = $0["seq"] { Int(seq) } else { nil } }
            #expect(seqs.first == 2)
            // Nothing else for x: the next message is the pong of a ping sent now.
            try owner.send(text: #"{"type":"ping","id":"after"}"#)
            let pong = try await owner.nextJSON()
            #expect(pong["type"] == "pong")
            if case .number(let seq)? = pong["seq"] { seqs.append(Int(seq)) }
            #expect(seqs == Array(2..<(2 + seqs.count)))
            try owner.close()
        }
    }

    @Test func aResumeWhileTheOldConnectionIsHalfOpenTakesItOverAndClosesItWith4001() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            var options = WebSocketClient.Options()
            options.answerPings = false
            let old = try WebSocketClient.connect(port: server.port, path: "/ws/memory", options: options)
            let credentials = try Credentials(welcome: try await old.nextJSON())
            try old.send(text: #"{"type":"slow","id":"x","data":{"ms":800}}"#)
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
            let messages = try await new.collect(until: "slow_complete")
            #expect(messages.filter(\.isFinalMessage).count == 1)
            #expect(server.service.metrics.snapshot().sessions.detached == 0)
            try new.close()
        }
    }
}
