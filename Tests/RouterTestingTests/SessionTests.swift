import Foundation
import RouterCore
import RouterTesting
import Testing

private func makeService(
    _ settings: RouterSettings = RouterSettings(), gate: Gate = Gate(), finished: Gate = Gate(),
    metrics: OperationMetrics = OperationMetrics(), blocking: HandlerProbe<BlockingHandler> = HandlerProbe(BlockingHandler())
) throws -> RouterService {
    let router = try RouterBuilder()
        .register(TestSearchHandler())
        .register(blocking)
        .register(StubbornHandler(gate: gate, finished: finished))
        .register(BigHandler())
        .register(ScriptHandler { request, _ in if request.n == 13 { throw OperationError(code: "unlucky", message: "13 is unlucky") } })
        .build()
    // These tests look at every progress message, from the start (the quiet start has tests of its own).
    var settings = settings
    settings.progressQuietPeriod = .zero
    return RouterService(router: router, settings: settings, metrics: metrics, logger: .disabled)
}

private func seqs(_ messages: [JSONValue]) -> [Double] {
    messages.compactMap { if case .number(let seq)? = $0["seq"] { seq } else { nil } }
}

@Suite struct SessionTests {
    @Test func everyOperationIsLoggedOnceWithItsSessionIdTypeOutcomeAndDuration() async throws {
        let logs = InMemoryLogHandler()
        let router = try RouterBuilder()
            .register(ScriptHandler { request, _ in if request.n == 13 { throw OperationError(code: "unlucky", message: "13 is unlucky") } })
            .build()
        let service = RouterService(router: router, logger: Logger(label: "test", level: .debug, handler: logs))
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"script","id":"ok","data":{"n":1}}"#)
            connection.send(#"{"type":"script","id":"bad","data":{"n":13}}"#)
            try #require(await connection.waitForFinal("ok"))
            try #require(await connection.waitForFinal("bad"))
            guard case .string(let session)? = connection.messages.first?["session"] else {
                Issue.record("no session id in welcome")
                return
            }
            let finished = logs.records.filter { $0.message == "operation finished" }
            #expect(finished.count == 2)
            let ok = try #require(finished.first { $0.metadata["op.id"] == "ok" })
            #expect(ok.level == .debug)
            #expect(ok.metadata["session.id"] == session)
            #expect(ok.metadata["op.type"] == "script")
            #expect(ok.metadata["outcome"] == "completed")
            #expect(ok.metadata["duration.ms"].flatMap { Int($0) } != nil)
            let bad = try #require(finished.first { $0.metadata["op.id"] == "bad" })
            #expect(bad.level == .notice)
            #expect(bad.metadata["outcome"] == "failed")
            #expect(bad.metadata["error.code"] == "unlucky")
        }
    }

    @Test func welcomeDescribesTheSessionOperationsAndLimits() throws {
        let service = try makeService(RouterSettings(maxInFlightPerConnection: 8))
        let connection = TestConnection(to: service)
        let welcome = try #require(connection.messages.first)
        #expect(connection.messages.count == 1)
        #expect(welcome.messageType == "welcome")
        #expect(welcome["seq"] == .number(1))
        guard case .string(let session)? = welcome["session"], case .string(let token)? = welcome["token"] else {
            Issue.record("session and token must be strings")
            return
        }
        #expect(session.hasPrefix("s-") && session.count == 18)
        #expect(token.count == 32)
        #expect(welcome["heartbeat"] == .object(["interval": .number(25000), "timeout": .number(20000)]))
        #expect(welcome["limits"]?["maxInFlight"] == .number(8))
        #expect(welcome["limits"]?["maxInFlightTotal"] == .number(1024))
        #expect(welcome["limits"]?["maxMessageBytes"] == .number(1_048_576))
        #expect(welcome["compression"] == .string("none"))
        guard case .array(let operations)? = welcome["operations"] else {
            Issue.record("operations must be an array")
            return
        }
        #expect(operations.count == 5)
        #expect(
            operations.first
                == .object([
                    "type": .string("memory_search"), "prefix": .string("search"), "timeout": .number(30000),
                    "stages": .array([.string("tokenize"), .string("score"), .string("rank")]),
                ]))
        let other = TestConnection(to: service).messages.first
        #expect(other?["session"] != welcome["session"])
        #expect(other?["token"] != welcome["token"])
    }

    @Test func theOriginalDashboardMessageWorksUnchanged() async throws {
        let service = try makeService()
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"memory_search","data":{"query":"tea","limit":3}}"#)
            try #require(await connection.waitForFinal("srv-1", timeout: .seconds(60)))
            let messages = Array(connection.messages.dropFirst())
            try #require(messages.count == 4, "\(messages)")
            #expect(messages.map(\.messageType) == ["search_progress", "search_progress", "search_progress", "search_complete"])
            #expect(messages.allSatisfy { $0["id"] == .string("srv-1") && $0["op"] == .string("memory_search") })
            #expect(messages.map { $0["progress"] } == [.number(0.1), .number(0.5), .number(1), nil])
            #expect(messages[0]["message"] == .string("tokenized \"tea\""))
            #expect(messages[1]["stage"] == .string("score"))
            #expect(messages[1]["stageIndex"] == .number(1))
            #expect(messages[1]["stages"] == .number(3))
            guard case .array(let results)? = messages[3]["results"] else {
                Issue.record("results must be a top-level array")
                return
            }
            #expect(results.count == 3)
            #expect(results[0]["text"] == .string("tea 0"))
            if case .number(let elapsed)? = messages[3]["elapsedMs"] { #expect(elapsed >= 0) } else { Issue.record("elapsedMs") }
            #expect(seqs(connection.messages) == [1, 2, 3, 4, 5])
        }
    }

    @Test func badInputGetsAPreciseErrorAndTheConnectionLivesOn() async throws {
        let metrics = OperationMetrics()
        let service = try makeService(metrics: metrics)
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"memory_search","#)
            connection.send(#""hello""#)
            connection.send(#"{"id":"n1"}"#)
            connection.send(#"{"type":"memory_search","id":"q1","data":{"query":"x","limit":"10"}}"#)
            connection.send(#"{"type":"memory_search","id":"q2","data":{"limit":10}}"#)
            connection.sendBinary([1, 2, 3])
            connection.send(#"{"type":"memory_delete","id":"q3"}"#)
            connection.send(#"{"type":"cancel","id":"nope"}"#)
            connection.send(#"{"type":"ping","id":"p1"}"#)
            connection.send(#"{"type":"resume","session":"s","token":"t","lastSeq":3}"#)
            connection.send(#"{"type":"ack","seq":"3"}"#)
            connection.send(#"{"type":"ack","seq":99}"#)
            connection.send(#"{"type":"resume","session":"s","lastSeq":3}"#)
            #expect(await connection.sink.waitFor { $0.count == 14 })
            let replies = Array(connection.messages.dropFirst())
            let expected: [JSONValue] = [
                .object(["type": "error", "seq": 2, "code": "bad_request", "message": "invalid JSON at byte 24: unexpected end of input, expected a string key"]),
                .object(["type": "error", "seq": 3, "code": "bad_request", "message": "message must be a JSON object, found string"]),
                .object(["type": "error", "seq": 4, "id": "n1", "code": "bad_request", "message": "missing \"type\""]),
                .object(["type": "error", "seq": 5, "id": "q1", "op": "memory_search", "code": "bad_request", "message": "data.limit: expected integer, found string"]),
                .object(["type": "error", "seq": 6, "id": "q2", "op": "memory_search", "code": "bad_request", "message": "data.query: missing"]),
                .object(["type": "error", "seq": 7, "code": "bad_request", "message": "binary messages are not supported on this endpoint"]),
                .object(["type": "error", "seq": 8, "id": "q3", "op": "memory_delete", "code": "unknown_operation", "message": "unknown operation \"memory_delete\""]),
                .object(["type": "error", "seq": 9, "id": "nope", "op": "cancel", "code": "unknown_request", "message": "no request with id \"nope\" is in flight"]),
                .object(["type": "pong", "seq": 10, "id": "p1"]),
                .object(["type": "error", "seq": 11, "op": "resume", "code": "bad_request", "message": "resume must be the first message of a connection"]),
                .object(["type": "error", "seq": 12, "op": "ack", "code": "bad_request", "message": "ack: \"seq\" must be a non-negative integer, found string"]),
                .object(["type": "error", "seq": 13, "op": "ack", "code": "bad_request", "message": "ack: seq 99 is ahead of the last message sent (12)"]),
                .object(["type": "error", "seq": 14, "op": "resume", "code": "bad_request", "message": "resume: missing \"token\""]),
            ]
            #expect(replies == expected)
            #expect(connection.sink.closeCode == nil)
            #expect(metrics.snapshot().rejected == ["bad_request": 10, "unknown_operation": 1, "unknown_request": 1])
        }
    }

    @Test func cancelBeforeCompletionEndsWithOneCancelledError() async throws {
        let blocking = HandlerProbe(BlockingHandler())
        let service = try makeService(blocking: blocking)
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"block","id":"c1"}"#)
            #expect(await connection.sink.waitFor { $0.count == 2 })
            connection.send(#"{"type":"cancel","id":"c1"}"#)
            #expect(await connection.waitForFinal("c1"))
            // The handler has really ended (it saw the cancel): whatever it could still send, it has tried.
            #expect(await blocking.stopped() == .cancelled)
            let forRequest = connection.messages(for: "c1")
            #expect(forRequest.map(\.messageType) == ["block_progress", "error"])
            #expect(forRequest.last?["code"] == .string("cancelled"))
            #expect(forRequest.last?["op"] == .string("block"))
            #expect(service.inFlightTotal == 0)
        }
    }

    @Test func cancelAfterCompletionAddsNothingForThatRequest() async throws {
        let service = try makeService()
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"memory_search","id":"d1","data":{"query":"q","limit":1}}"#)
            #expect(await connection.waitForFinal("d1"))
            connection.send(#"{"type":"cancel","id":"d1"}"#)
            #expect(await connection.sink.waitFor { $0.last?["code"] == .string("unknown_request") })
            let forRequest = connection.messages(for: "d1")
            #expect(forRequest.filter(\.isFinalMessage).count == 1)
            #expect(forRequest.last?.messageType == "search_complete")
        }
    }

    @Test func duplicateIDsAndOverloadAreRefused() async throws {
        let service = try makeService(RouterSettings(maxInFlightPerConnection: 2, maxInFlightTotal: 3))
        try await withRunningService(service) {
            let first = TestConnection(to: service)
            let second = TestConnection(to: service)
            first.send(#"{"type":"block","id":"a"}"#)
            first.send(#"{"type":"block","id":"a"}"#)
            first.send(#"{"type":"block","id":"b"}"#)
            first.send(#"{"type":"block","id":"c"}"#)
            #expect(await first.sink.waitFor { $0.filter { $0.messageType == "error" }.count == 2 })
            second.send(#"{"type":"block","id":"x"}"#)
            second.send(#"{"type":"block","id":"y"}"#)
            #expect(await second.sink.waitFor { $0.contains { $0["code"] == .string("overloaded") } })
            let firstErrors = first.messages.filter { $0.messageType == "error" }
            #expect(firstErrors.map { $0["code"] } == [.string("duplicate_id"), .string("overloaded")])
            #expect(firstErrors[0]["message"] == .string("a request with id \"a\" is already in flight"))
            #expect(firstErrors[1]["message"] == .string("too many requests in flight on this connection (limit 2)"))
            #expect(firstErrors[1]["id"] == .string("c"))
            let secondError = second.messages.first { $0.messageType == "error" }
            #expect(secondError?["id"] == .string("y"))
            #expect(secondError?["message"] == .string("too many requests in flight on the server (limit 3)"))
            #expect(service.inFlightTotal == 3)
            // Freeing a slot admits the next request.
            first.send(#"{"type":"cancel","id":"a"}"#)
            #expect(await first.sink.waitFor { $0.contains { $0["id"] == .string("a") && $0["code"] == .string("cancelled") } })
            second.send(#"{"type":"block","id":"y"}"#)
            #expect(await second.sink.waitFor { $0.contains { $0["id"] == .string("y") && $0.messageType == "block_progress" } })
            first.close()
            second.close()
            #expect(await first.sink.waitFor { _ in service.inFlightTotal == 0 })
        }
    }

    @Test func timeoutsUseTheInjectedClockAndTheRequestMayOnlyShortenThem() async throws {
        let clock = ManualClock()
        let service = try makeService(RouterSettings(clock: clock))
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"block","id":"t1","timeout":1500}"#)
            #expect(await connection.sink.waitFor { $0.count == 2 })
            await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(1500))
            #expect(await connection.waitForFinal("t1"))
            let final = connection.messages(for: "t1").last
            #expect(final?["code"] == .string("block_timeout"))
            #expect(final?["message"] == .string("block exceeded its 1500 ms timeout during stage \"wait\" (1 of 1)"))
        }
    }

    @Test func aZombieHandlerFreesItsSlotAndItsLaterOutputIsDropped() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let finished = Gate()
        let metrics = OperationMetrics()
        let service = try makeService(RouterSettings(clock: clock), gate: gate, finished: finished, metrics: metrics)
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"stubborn","id":"z1"}"#)
            #expect(await connection.sink.waitFor { $0.count == 2 })
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(5))
            #expect(await connection.waitForFinal("z1"))
            // The handler is still blocked, yet its slot is free and later requests are answered.
            #expect(service.inFlightTotal == 0)
            #expect(metrics.snapshot().operations["stubborn"]?.inFlight == 0)
            #expect(metrics.snapshot().operations["stubborn"]?.timedOut == 1)
            connection.send(#"{"type":"ping","id":"after"}"#)
            #expect(await connection.sink.waitFor { $0.last?.messageType == "pong" })
            let before = connection.messages.count
            gate.open()
            // The zombie opens `finished` after its late progress and chunk: both were offered (and dropped)
            // by then; only its return value is left, which the request's conclusion drops.
            await finished.wait()
            #expect(connection.messages.count == before, "the zombie's progress, chunk and result must be dropped")
            #expect(connection.messages(for: "z1").map(\.messageType) == ["stubborn_progress", "error"])
        }
    }

    @Test func handlerErrorsAnswerWithTheirCodeAndTheRequestID() async throws {
        let service = try makeService()
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"script","id":"e1","data":{"n":13}}"#)
            #expect(await connection.waitForFinal("e1"))
            #expect(
                connection.messages(for: "e1")
                    == [.object(["type": "error", "seq": 2, "id": "e1", "op": "script", "code": "unlucky", "message": "13 is unlucky"])])
        }
    }

    @Test func aClientClosingWith1000EndsItsSessionAndCancelsInFlightOperations() async throws {
        let metrics = OperationMetrics()
        let service = try makeService(metrics: metrics)
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            connection.send(#"{"type":"block","id":"k1"}"#)
            connection.send(#"{"type":"block","id":"k2"}"#)
            #expect(await connection.sink.waitFor { _ in service.inFlightTotal == 2 })
            #expect(metrics.snapshot().connectionsCurrent == 1)
            connection.close(code: .normal)
            #expect(await connection.sink.waitFor { _ in service.inFlightTotal == 0 && metrics.snapshot().connectionsCurrent == 0 })
            #expect(metrics.snapshot().operations["block"]?.cancelled == 2)
            #expect(metrics.snapshot().operations["block"]?.inFlight == 0)
        }
    }

    @Test func largeMessagesUseTheGzipEnvelopeOnlyForClientsThatAskedWithoutDeflate() async throws {
        let service = try makeService(RouterSettings(compressionThreshold: 1024, gzip: GzipTool.gzip))
        try await withRunningService(service) {
            let gzipClient = TestConnection(to: service, query: ["compress": "gzip"])
            let deflateClient = TestConnection(to: service, query: ["compress": "gzip"], usesPerMessageDeflate: true)
            let plainClient = TestConnection(to: service)
            #expect(gzipClient.messages.first?["compression"] == .string("gzip+base64"))
            #expect(deflateClient.messages.first?["compression"] == .string("permessage-deflate"))
            for client in [gzipClient, deflateClient, plainClient] {
                client.send(#"{"type":"big","id":"g1","data":{"bytes":5000}}"#)
                client.send(#"{"type":"big","id":"g2","data":{"bytes":70}}"#)
                #expect(await client.waitForFinal("g1"))
                #expect(await client.waitForFinal("g2"))
            }
            let envelope = try #require(gzipClient.messages(for: "g1").first)
            #expect(envelope["compressed"] == .bool(true))
            #expect(envelope["encoding"] == .string("gzip+base64"))
            #expect(envelope["type"] == .string("big_complete"))
            #expect(envelope["op"] == .string("big"))
            guard case .string(let base64)? = envelope["data"], let gzipped = Data(base64Encoded: base64) else {
                Issue.record("data must be base64")
                return
            }
            #expect(Array(gzipped.prefix(2)) == [0x1F, 0x8B], "gzip magic")
            let inner = try JSONValue(jsonBytes: GzipTool.gunzip(Array(gzipped)))
            #expect(inner["type"] == .string("big_complete"))
            #expect(inner["seq"] == envelope["seq"])
            #expect(inner["id"] == .string("g1"))
            if case .string(let blob)? = inner["blob"] { #expect(blob.utf8.count >= 4990) } else { Issue.record("blob") }
            #expect(gzipClient.messages(for: "g2").first?["compressed"] == nil, "small messages are sent as they are")
            #expect(gzipClient.messages.first?["compressed"] == nil)
            #expect(deflateClient.messages(for: "g1").first?["compressed"] == nil)
            #expect(deflateClient.messages(for: "g1").first?["blob"] != nil)
            #expect(plainClient.messages(for: "g1").first?["compressed"] == nil)
        }
    }

    @Test func aClientFloodingUnprocessedMessagesIsHeldBackNotClosed() throws {
        // run() is not running, so nothing drains the connection's inbound queue: past its bound the
        // transport would stop reading (see InboundLimitTests over real sockets); nothing is closed or dropped.
        let service = try makeService(RouterSettings(maxQueuedInboundMessages: 3))
        let connection = TestConnection(to: service)
        for _ in 0..<10 { connection.send(#"{"type":"ping"}"#) }
        #expect(connection.sink.closeCode == nil)
    }

    @Test func theWelcomeShowsAPluginsConfiguredTimeout() throws {
        let plugin = Plugin(name: "search", handlers: [TestSearchHandler()])
        let router = try RouterBuilder().register(plugin: plugin, timeout: .seconds(90)).build()
        let connection = TestConnection(to: RouterService(router: router, logger: .disabled))
        #expect(connection.messages.first?["operations"] == [["type": "memory_search", "prefix": "search", "timeout": 90000, "stages": ["tokenize", "score", "rank"]]])
    }
}

/// Reports progress, says so, then waits to be released.
private struct QuietStartHandler: OperationHandler {
    static let messageType = "quiet"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("work")]
    let reported: Gate
    let release: Gate

    func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
        context.progress("work", 0.5)
        reported.open()
        await release.wait()
        return Empty()
    }
}

@Suite struct ProgressQuietStartTests {
    /// DESIGN §4: a request that ends within `progressQuietPeriod` sends its final message alone; a longer
    /// one sends the progress it reported during that period once the period ends, then its result.
    @Test func aFastRequestSendsOnlyItsResultAndASlowOneItsProgressWhenTheQuietStartEnds() async throws {
        let clock = ManualClock()
        let reported = Gate()
        let release = Gate()
        let router = try RouterBuilder()
            .register(TestSearchHandler())
            .register(QuietStartHandler(reported: reported, release: release))
            .build()
        let settings = RouterSettings(progressQuietPeriod: .milliseconds(100), clock: clock)
        let service = RouterService(router: router, settings: settings, metrics: OperationMetrics(), logger: .disabled)
        try await withRunningService(service) {
            let connection = TestConnection(to: service)
            // TestSearchHandler reports three stages, then returns at once.
            connection.send(#"{"type":"memory_search","id":"fast","data":{"query":"tea","limit":3}}"#)
            #expect(await connection.waitForFinal("fast"))
            #expect(connection.messages(for: "fast").map(\.messageType) == ["search_complete"])

            connection.send(#"{"type":"quiet","id":"slow"}"#)
            await reported.wait()
            await clock.waitForSleepers(1)  // the quiet start's end
            #expect(connection.messages(for: "slow").isEmpty, "progress is held during the quiet start")
            clock.advance(by: .milliseconds(100))
            #expect(await connection.sink.waitFor { _ in !connection.messages(for: "slow").isEmpty })
            let progress = connection.messages(for: "slow")
            #expect(progress.map(\.messageType) == ["quiet_progress"])
            #expect(progress.first?["progress"] == .number(0.5))
            release.open()
            #expect(await connection.waitForFinal("slow"))
            #expect(connection.messages(for: "slow").map(\.messageType) == ["quiet_progress", "quiet_complete"])
        }
    }
}
