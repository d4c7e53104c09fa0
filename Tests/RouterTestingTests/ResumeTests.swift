import Foundation
import RouterCore
import RouterTesting
import Testing

/// Releases a handler one step at a time: `release(n)` lets `n` more `next()` calls through.
final class Pacer: Sendable {
    private let state = Locked<(permits: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    func release(_ count: Int = 1) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.permits += count
            let n = min(state.permits, state.waiters.count)
            state.permits -= n
            defer { state.waiters.removeFirst(n) }
            return Array(state.waiters.prefix(n))
        }
        for waiter in ready { waiter.resume() }
    }

    func next() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let go = state.withLock { state -> Bool in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if go { continuation.resume() }
        }
    }
}

/// Emits one chunk per step of its pacer (`count` chunks), then completes.
struct PacedHandler: OperationHandler {
    struct Request: Decodable, Sendable { var count: Int }
    struct Response: Encodable, Sendable { var chunks: Int }
    static let messageType = "paced"
    static let eventPrefix = "paced"
    static let timeout: Duration = .seconds(3600)
    static let stages = [ProgressStage("run")]
    let pacer: Pacer

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        for index in 0..<request.count {
            await pacer.next()
            try await context.emit(["i": index])
        }
        return Response(chunks: request.count)
    }
}

/// Waits for one step of its pacer, then completes.
struct GatedHandler: OperationHandler {
    static let messageType = "gated"
    static let timeout: Duration = .seconds(3600)
    static let stages: [ProgressStage] = []
    let pacer: Pacer

    func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
        await pacer.next()
        return Empty()
    }
}

/// Emits `count` chunks as fast as the session lets it; counts them.
struct FloodHandler: OperationHandler {
    struct Request: Decodable, Sendable { var count: Int }
    struct Response: Encodable, Sendable { var chunks: Int }
    static let messageType = "flood"
    static let timeout: Duration = .seconds(3600)
    static let stages = [ProgressStage("run")]
    let emitted: Locked<Int>

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        for index in 0..<request.count {
            try await context.emit(["i": index])
            emitted.withLock { $0 += 1 }
        }
        return Response(chunks: request.count)
    }
}

private struct Resumable {
    let service: RouterService
    let pacer = Pacer()
    let emitted = Locked(0)
    let metrics = OperationMetrics()
    let logs = InMemoryLogHandler()

    init(
        _ resume: ResumeSettings = ResumeSettings(), clock: any Clock<Duration> = ContinuousClock(),
        gzipAbove threshold: Int? = nil
    ) throws {
        let router = try RouterBuilder()
            .register(PacedHandler(pacer: pacer))
            .register(FloodHandler(emitted: emitted))
            .register(BlockingHandler())
            .register(GatedHandler(pacer: pacer))
            .register(BigHandler())
            .build()
        var settings = RouterSettings(clock: clock, resume: resume)
        if let threshold {
            settings.compressionThreshold = threshold
            settings.gzip = GzipTool.gzip
        }
        service = RouterService(
            router: router, settings: settings, metrics: metrics,
            logger: Logger(label: "test", level: .debug, handler: logs))
    }
}

private extension TestConnection {
    /// The session and token of this connection's `welcome`.
    var credentials: (session: String, token: String) {
        guard case .string(let session)? = messages.first?["session"], case .string(let token)? = messages.first?["token"] else {
            return ("", "")
        }
        return (session, token)
    }

    func resume(_ credentials: (session: String, token: String), lastSeq: Int) {
        send(#"{"type":"resume","session":"\#(credentials.session)","token":"\#(credentials.token)","lastSeq":\#(lastSeq)}"#)
    }

    /// The `seq` of every numbered message after the first `count` messages.
    func seqs(droppingFirst count: Int = 0) -> [Int] {
        messages.dropFirst(count).compactMap { if case .number(let seq)? = $0["seq"] { Int(seq) } else { nil } }
    }

    func chunkIndexes(_ id: String) -> [Int] {
        messages(for: id).compactMap { if case .number(let index)? = $0["i"] { Int(index) } else { nil } }
    }
}

@Suite struct ResumeTests {
    @Test func aDroppedConnectionDetachesTheSessionAndAResumeGetsEveryLaterMessageOnceInOrder() async throws {
        let fixture = try Resumable()
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service)
            let credentials = first.credentials
            first.send(#"{"type":"paced","id":"p","data":{"count":6}}"#)
            fixture.pacer.release(2)
            #expect(await first.sink.waitFor { $0.filter { $0.messageType == "paced_chunk" }.count == 2 })
            // The client processed up to the first chunk only; the second was on the wire when it dropped.
            let firstChunkSeq = try #require(first.messages.first { $0["i"] == .number(0) }?["seq"])
            first.close(code: .abnormalClosure)
            #expect(await first.sink.waitFor { _ in fixture.metrics.snapshot().sessions.detachedCurrent == 1 })
            // The operation goes on while detached.
            fixture.pacer.release(2)
            #expect(await first.sink.waitFor { _ in fixture.metrics.snapshot().sessions.replayBufferBytes > 0 })

            let second = TestConnection(to: fixture.service)
            guard case .number(let lastSeen) = firstChunkSeq else { throw CancellationError() }
            second.resume(credentials, lastSeq: Int(lastSeen))
            let resumed = try #require(await second.sink.waitFor { $0.count >= 2 } ? second.messages[1] : nil)
            #expect(resumed.messageType == "resumed")
            #expect(resumed["session"] == .string(credentials.session))
            #expect(resumed["inFlight"] == .array(["p"]))
            #expect(resumed["seq"] == nil)
            // Wait until the detached chunks (1, 2, 3) have been replayed, then let the rest run live.
            #expect(await second.sink.waitFor { _ in second.chunkIndexes("p") == [1, 2, 3] })
            fixture.pacer.release(2)
            #expect(await second.waitForFinal("p"))
            #expect(second.chunkIndexes("p") == [1, 2, 3, 4, 5])
            // seq continues the old session's without a gap or a duplicate.
            let seqs = second.seqs(droppingFirst: 2)
            #expect(seqs.first == Int(lastSeen) + 1)
            #expect(seqs == Array(seqs.first!..<(seqs.first! + seqs.count)))
            #expect(second.messages(for: "p").filter(\.isFinalMessage).count == 1)
            #expect(second.messages(for: "p").last?.messageType == "paced_complete")
            // The registry counts the resume once the session is attached again: wait for it (it can trail the
            // replayed messages by a moment under load).
            #expect(await second.sink.waitFor { _ in
                let sessions = fixture.metrics.snapshot().sessions
                return sessions.detached == 1 && sessions.resumed == 1 && sessions.detachedCurrent == 0
            })
            // One log line for the resume, without the token.
            let lines = fixture.logs.records.filter { $0.message == "session resumed" }
            #expect(lines.count == 1)
            #expect(lines.first?.metadata["outcome"] == "resumed")
            #expect(!fixture.logs.records.contains { "\($0.message) \($0.metadata)".contains(credentials.token) })
        }
    }

    @Test func aReplayedLargeMessageComesInTheGzipEnvelopeOfTheResumingClient() async throws {
        let fixture = try Resumable(gzipAbove: 1024)
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service, query: ["compress": "gzip"])
            let credentials = first.credentials
            first.send(#"{"type":"big","id":"g1","data":{"bytes":5000}}"#)
            #expect(await first.waitForFinal("g1"))
            let live = try #require(first.messages(for: "g1").first)
            #expect(live["encoding"] == .string("gzip+base64"))
            first.close(code: .abnormalClosure)
            #expect(await first.sink.waitFor { _ in fixture.metrics.snapshot().sessions.detachedCurrent == 1 })

            // Resumed from before it (the welcome's seq): the message is replayed, in the envelope, as it was sent.
            let second = TestConnection(to: fixture.service, query: ["compress": "gzip"])
            second.resume(credentials, lastSeq: 1)
            #expect(await second.waitForFinal("g1"))
            let replayed = try #require(second.messages(for: "g1").first)
            #expect(replayed["encoding"] == .string("gzip+base64"))
            for key in ["type", "id", "op", "seq", "compressed"] {
                #expect(replayed[key] == live[key], "\(key)")
            }
            guard case .string(let base64)? = replayed["data"], let gzipped = Data(base64Encoded: base64) else {
                Issue.record("data must be base64")
                return
            }
            let inner = try JSONValue(jsonBytes: GzipTool.gunzip(Array(gzipped)))
            #expect(inner["type"] == .string("big_complete"))
            #expect(inner["seq"] == live["seq"])
            if case .string(let blob)? = inner["blob"] { #expect(blob.utf8.count >= 4990) } else { Issue.record("blob") }
        }
    }

    @Test func anAcknowledgedMessageIsTrimmedSoAResumeFromBeforeItIsAGap() async throws {
        let fixture = try Resumable()
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service)
            let credentials = first.credentials
            first.send(#"{"type":"paced","id":"p","data":{"count":3}}"#)
            fixture.pacer.release(3)
            #expect(await first.waitForFinal("p"))
            let last = try #require(first.seqs().last)
            first.send(#"{"type":"ack","seq":\#(last)}"#)
            #expect(await first.sink.waitFor { _ in fixture.metrics.snapshot().sessions.replayBufferBytes == 0 })
            first.close(code: .abnormalClosure)

            let second = TestConnection(to: fixture.service)
            second.resume(credentials, lastSeq: 1)
            #expect(await second.sink.waitFor { $0.count == 2 })
            #expect(second.messages[1].messageType == "resume_failed")
            #expect(second.messages[1]["reason"] == "gap")
            #expect(second.messages[1]["seq"] == 2)
            // The failed connection carries on as the session of its own welcome.
            second.send(#"{"type":"ping","id":"x"}"#)
            #expect(await second.sink.waitFor { $0.last?.messageType == "pong" })
            #expect(second.messages.last?["seq"] == 3)
            #expect(fixture.metrics.snapshot().sessions.resumeFailures == ["gap": 1])
        }
    }

    @Test func aResumeAfterTheWindowIsExpiredAndItsOperationsWereCancelled() async throws {
        let clock = ManualClock()
        let fixture = try Resumable(ResumeSettings(window: .seconds(5)), clock: clock)
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service)
            let credentials = first.credentials
            first.send(#"{"type":"block","id":"b"}"#)
            #expect(await first.sink.waitFor { _ in fixture.service.inFlightTotal == 1 })
            first.close(code: .goingAway)
            // The operation's timeout and the session's expiry are both armed on the manual clock.
            await clock.waitForSleepers(2)
            #expect(fixture.service.inFlightTotal == 1)
            clock.advance(by: .seconds(6))
            // The expiry cancels the operations first, then records the session as expired: wait for the latter
            // (waiting for the in-flight count alone raced with it under load: `unknown_session`, expired 0).
            #expect(await first.sink.waitFor { _ in fixture.metrics.snapshot().sessions.expired == 1 })
            #expect(await first.sink.waitFor { _ in fixture.service.inFlightTotal == 0 })
            #expect(fixture.metrics.snapshot().operations["block"]?.cancelled == 1)
            #expect(fixture.metrics.snapshot().sessions.replayBufferBytes == 0)

            let second = TestConnection(to: fixture.service)
            second.resume(credentials, lastSeq: 1)
            #expect(await second.sink.waitFor { $0.count == 2 })
            #expect(second.messages[1]["reason"] == "expired")
        }
    }

    @Test func anOverflowWhileDetachedIsAGapAndEndsTheOldSession() async throws {
        let fixture = try Resumable(ResumeSettings(bufferMessages: 4))
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service)
            let credentials = first.credentials
            for index in 0..<6 { first.send(#"{"type":"gated","id":"g\#(index)"}"#) }
            first.send(#"{"type":"block","id":"b"}"#)
            #expect(await first.sink.waitFor { _ in fixture.service.inFlightTotal == 7 })
            first.close(code: .abnormalClosure)
            #expect(await first.sink.waitFor { _ in fixture.metrics.snapshot().sessions.detachedCurrent == 1 })
            // Six results while detached: more than the buffer's four messages.
            fixture.pacer.release(6)
            #expect(await first.sink.waitFor { _ in fixture.service.inFlightTotal == 1 })

            let second = TestConnection(to: fixture.service)
            second.resume(credentials, lastSeq: 1)
            #expect(await second.sink.waitFor { $0.count == 2 })
            #expect(second.messages[1]["reason"] == "gap")
            // A gap ends the old session: its last operation is cancelled.
            #expect(await second.sink.waitFor { _ in fixture.service.inFlightTotal == 0 })
            #expect(fixture.metrics.snapshot().operations["block"]?.cancelled == 1)
            #expect(fixture.metrics.snapshot().sessions.detachedCurrent == 0)
        }
    }

    @Test func aWrongTokenIsRefusedAndTheOwnerCanStillResume() async throws {
        let fixture = try Resumable()
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service)
            let credentials = first.credentials
            first.send(#"{"type":"block","id":"b"}"#)
            #expect(await first.sink.waitFor { _ in fixture.service.inFlightTotal == 1 })
            first.close(code: .abnormalClosure)

            let stranger = TestConnection(to: fixture.service)
            let wrong = String(credentials.token.reversed())
            stranger.resume((credentials.session, wrong), lastSeq: 0)
            #expect(await stranger.sink.waitFor { $0.count == 2 })
            #expect(stranger.messages[1]["reason"] == "bad_token")
            let shorter = TestConnection(to: fixture.service)
            shorter.resume((credentials.session, String(credentials.token.dropLast())), lastSeq: 0)
            #expect(await shorter.sink.waitFor { $0.count == 2 })
            #expect(shorter.messages[1]["reason"] == "bad_token")
            #expect(fixture.service.inFlightTotal == 1)

            let owner = TestConnection(to: fixture.service)
            owner.resume(credentials, lastSeq: 1)
            #expect(await owner.sink.waitFor { $0.count >= 2 })
            #expect(owner.messages[1].messageType == "resumed")
            #expect(owner.messages[1]["inFlight"] == .array(["b"]))
            #expect(fixture.metrics.snapshot().sessions.resumeFailures == ["bad_token": 2])
        }
    }

    @Test func unknownSessionsAndSeqAheadAreRefused() async throws {
        let fixture = try Resumable()
        try await withRunningService(fixture.service) {
            let first = TestConnection(to: fixture.service)
            let credentials = first.credentials
            first.send(#"{"type":"block","id":"b"}"#)
            #expect(await first.sink.waitFor { _ in fixture.service.inFlightTotal == 1 })
            first.close(code: .abnormalClosure)

            let unknown = TestConnection(to: fixture.service)
            unknown.resume(("s-0000000000000000", credentials.token), lastSeq: 0)
            #expect(await unknown.sink.waitFor { $0.count == 2 })
            #expect(unknown.messages[1]["reason"] == "unknown_session")

            let ahead = TestConnection(to: fixture.service)
            ahead.resume(credentials, lastSeq: 50)
            #expect(await ahead.sink.waitFor { $0.count == 2 })
            #expect(ahead.messages[1]["reason"] == "seq_ahead")
            // seq_ahead ends the old session: its operation is cancelled.
            #expect(await ahead.sink.waitFor { _ in fixture.service.inFlightTotal == 0 })
        }
    }

    @Test func aResumeWhileTheOldConnectionLooksAliveTakesItOverWith4001() async throws {
        let fixture = try Resumable()
        try await withRunningService(fixture.service) {
            let old = TestConnection(to: fixture.service)
            let credentials = old.credentials
            old.send(#"{"type":"paced","id":"p","data":{"count":2}}"#)
            fixture.pacer.release(1)
            #expect(await old.sink.waitFor { $0.contains { $0.messageType == "paced_chunk" } })

            let new = TestConnection(to: fixture.service)
            new.resume(credentials, lastSeq: 1)
            #expect(await new.sink.waitFor { $0.count >= 2 })
            #expect(new.messages[1].messageType == "resumed")
            #expect(old.sink.closeCode == .other(4001))
            // The old connection's later messages are ignored, requests too; its close does not detach the session.
            old.send(#"{"type":"cancel","id":"p"}"#)
            old.send(#"{"type":"block","id":"q"}"#)
            old.close(code: .abnormalClosure)
            // Its driver has ended (after handling both messages) once only the new connection is counted.
            #expect(await new.sink.waitFor { _ in fixture.metrics.snapshot().connectionsCurrent == 1 })
            #expect(fixture.metrics.snapshot().operations["block"]?.started ?? 0 == 0, "a request from the old connection ran")
            fixture.pacer.release(1)
            #expect(await new.waitForFinal("p"))
            #expect(new.chunkIndexes("p") == [0, 1])
            #expect(new.messages(for: "p").last?.messageType == "paced_complete")
            #expect(fixture.metrics.snapshot().sessions.detached == 0)
        }
    }

    @Test func pastMaxDetachedSessionsTheOldestExpires() async throws {
        let fixture = try Resumable(ResumeSettings(maxDetachedSessions: 2))
        try await withRunningService(fixture.service) {
            var credentials: [(session: String, token: String)] = []
            for index in 0..<3 {
                let connection = TestConnection(to: fixture.service)
                credentials.append(connection.credentials)
                connection.close(code: .abnormalClosure)
                #expect(await connection.sink.waitFor { _ in fixture.metrics.snapshot().sessions.detached == index + 1 })
            }
            #expect(fixture.metrics.snapshot().sessions.detachedCurrent == 2)
            #expect(fixture.metrics.snapshot().sessions.expired == 1)
            let oldest = TestConnection(to: fixture.service)
            oldest.resume(credentials[0], lastSeq: 1)
            #expect(await oldest.sink.waitFor { $0.count == 2 })
            #expect(oldest.messages[1]["reason"] == "expired")
            let newest = TestConnection(to: fixture.service)
            newest.resume(credentials[2], lastSeq: 1)
            #expect(await newest.sink.waitFor { $0.count == 2 })
            #expect(newest.messages[1].messageType == "resumed")
        }
    }

    @Test func pastTheTotalBufferedBytesTheOldestDetachedSessionExpires() async throws {
        // A welcome is about 600 bytes: two detached sessions hold more than 1000.
        let fixture = try Resumable(ResumeSettings(maxBufferedBytesTotal: 1000))
        try await withRunningService(fixture.service) {
            let a = TestConnection(to: fixture.service)
            let oldest = a.credentials
            a.close(code: .abnormalClosure)
            #expect(await a.sink.waitFor { _ in fixture.metrics.snapshot().sessions.detached == 1 })
            #expect(fixture.metrics.snapshot().sessions.expired == 0)
            let b = TestConnection(to: fixture.service)
            let newest = b.credentials
            b.close(code: .abnormalClosure)
            #expect(await b.sink.waitFor { _ in fixture.metrics.snapshot().sessions.expired == 1 })
            #expect(fixture.metrics.replayBufferBytes <= 1000)
            let late = TestConnection(to: fixture.service)
            late.resume(oldest, lastSeq: 1)
            #expect(await late.sink.waitFor { $0.count == 2 })
            #expect(late.messages[1]["reason"] == "expired")
            let owner = TestConnection(to: fixture.service)
            owner.resume(newest, lastSeq: 1)
            #expect(await owner.sink.waitFor { $0.count == 2 })
            #expect(owner.messages[1].messageType == "resumed")
        }
    }

    @Test func aClientThatAcknowledgesHoldsAStreamAtTheBufferBoundUntilItAcks() async throws {
        let fixture = try Resumable(ResumeSettings(bufferMessages: 20))
        try await withRunningService(fixture.service) {
            let connection = TestConnection(to: fixture.service)
            connection.send(#"{"type":"ack","seq":1}"#)
            connection.send(#"{"type":"flood","id":"f","data":{"count":100}}"#)
            // 20 messages held, a tenth kept as headroom: the stream stops at 18 unacknowledged messages.
            #expect(await connection.sink.waitFor { $0.count == 19 })
            #expect(fixture.emitted.withLock { $0 } == 18)
            var acked = 1
            while !(connection.messages.last?.isFinalMessage ?? false) {
                let last = try #require(connection.seqs().last)
                if last > acked {
                    acked = last
                    connection.send(#"{"type":"ack","seq":\#(last)}"#)
                }
                #expect(await connection.sink.waitFor { ($0.last?["seq"]).map { $0 != .number(Double(acked)) } ?? false })
            }
            #expect(connection.chunkIndexes("f") == Array(0..<100))
        }
    }

    @Test func aClientThatNeverAcknowledgesIsNeverHeld() async throws {
        let fixture = try Resumable(ResumeSettings(bufferMessages: 20))
        try await withRunningService(fixture.service) {
            let connection = TestConnection(to: fixture.service)
            connection.send(#"{"type":"flood","id":"f","data":{"count":100}}"#)
            #expect(await connection.waitForFinal("f"))
            #expect(connection.chunkIndexes("f") == Array(0..<100))
        }
    }
}

