import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Synchronization
import Testing

/// A search-like operation with the original dashboard's prefix `search`.
struct EchoSearchHandler: OperationHandler {
    struct Request: Decodable, Sendable {
        var query: String
        var limit: Int
    }
    struct Hit: Encodable, Sendable {
        var id: String
        var score: Double
        var text: String
    }
    struct Response: Encodable, Sendable { var results: [Hit] }
    static let messageType = "memory_search"
    static let eventPrefix = "search"
    static let timeout: Duration = .seconds(120)
    static let stages = [ProgressStage("parsing"), ProgressStage("scoring", weight: 3), ProgressStage("ranking")]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        context.progress("parsing", 1)
        for step in 1...3 {
            try await Task.sleep(for: .milliseconds(120))
            context.progress("scoring", Double(step) / 3)
        }
        context.progress("ranking", 1)
        let hits = (0..<request.limit).map { Hit(id: "m\($0)", score: 1 / Double($0 + 1), text: "\(request.query) #\($0)") }
        return Response(results: hits)
    }
}

/// Sleeps for `ms`, reporting progress, so heartbeats and cancellation can be observed mid-operation.
struct SlowHandler: OperationHandler {
    struct Request: Decodable, Sendable { var ms: Int }
    struct Response: Encodable, Sendable { var slept: Int }
    static let messageType = "slow"
    static let timeout: Duration = .seconds(5)
    static let stages = [ProgressStage("sleeping")]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        try await Task.sleep(for: .milliseconds(request.ms))
        return Response(slept: request.ms)
    }
}

/// Returns a large result (`size` bytes of text) or streams `chunks` chunks of `size` bytes.
struct BulkHandler: OperationHandler {
    struct Request: Decodable, Sendable {
        var size: Int
        var chunks: Int?
    }
    struct Chunk: Encodable, Sendable { var text: String }
    struct Response: Encodable, Sendable {
        var text: String
        var emitted: Int
    }
    static let messageType = "bulk"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("producing")]
    let emittedCounter: Counter

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let text = String(repeating: "memory ", count: request.size / 7)
        for _ in 0..<(request.chunks ?? 0) {
            try await context.emit(Chunk(text: text))
            emittedCounter.increment()
        }
        return Response(text: request.chunks == nil ? text : "", emitted: request.chunks ?? 0)
    }
}

final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

func testRouter(counter: Counter = Counter()) throws -> Router {
    try RouterBuilder()
        .register(EchoSearchHandler())
        .register(SlowHandler())
        .register(BulkHandler(emittedCounter: counter))
        .build()
}

extension WebSocketClient {
    /// The next text message as a JSON object (skipping pings), failing on anything else.
    func nextJSON(timeout: Duration = .seconds(10)) async throws -> JSONValue {
        while true {
            let event = try await next(timeout: timeout)
            switch event {
            case .text(let text): return try JSONValue(parsing: Data(text.utf8))
            case .ping, .pong: continue
            default: throw RawSocketError(description: "expected a text message, got \(String(describing: event))")
            }
        }
    }

    /// Reads messages until one of `type`, returning everything read.
    func collect(until type: String, timeout: Duration = .seconds(10)) async throws -> [JSONValue] {
        var messages: [JSONValue] = []
        while true {
            let message = try await nextJSON(timeout: timeout)
            messages.append(message)
            if message["type"] == .string(type) { return messages }
        }
    }
}

@Suite("Router end to end over real sockets")
struct RouterEndToEndTests {
    @Test func welcomeDescribesSessionHeartbeatOperationsAndLimits() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let welcome = try await client.nextJSON()
            #expect(welcome["type"] == "welcome")
            #expect(welcome["seq"] == 1)
            guard case .string(let session)? = welcome["session"], !session.isEmpty else {
                Issue.record("no session id in \(welcome)")
                return
            }
            #expect(welcome["heartbeat"]?["interval"] == 25000)
            guard case .array(let operations)? = welcome["operations"] else {
                Issue.record("no operations")
                return
            }
            let search = operations.first { $0["type"] == "memory_search" }
            #expect(search?["prefix"] == "search")
            #expect(search?["timeout"] == 120_000)
            #expect(search?["stages"] == ["parsing", "scoring", "ranking"])
        }
    }

    @Test func theOriginalDashboardMessageWithoutIdGetsProgressThenResults() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"memory_search","data":{"query":"coffee","limit":10}}"#)
            let messages = try await client.collect(until: "search_complete")
            let progress = messages.filter { $0["type"] == "search_progress" }
            #expect(progress.count >= 3)
            var last = -1.0
            for event in progress {
                guard case .number(let value)? = event["progress"] else {
                    Issue.record("progress missing in \(event)")
                    continue
                }
                #expect(value >= last)
                last = value
            }
            let complete = try #require(messages.last)
            guard case .array(let results)? = complete["results"] else {
                Issue.record("no results in \(complete)")
                return
            }
            #expect(results.count == 10)
            #expect(results.first?["text"] == "coffee #0")
            #expect(complete["op"] == "memory_search")
            #expect(complete["id"] != nil)
            #expect(complete["elapsedMs"] != nil)
            // Every message carries seq, increasing by one from the welcome's 1.
            let seqs = messages.compactMap { message -> Double? in
                if case .number(let seq)? = message["seq"] { return seq }
                return nil
            }
            #expect(seqs == (0..<messages.count).map { Double($0 + 2) })
        }
    }

    @Test func badInputGetsAPreciseErrorAndTheConnectionLivesOn() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"memory_search","id":"r1","data":{"query":"x","limit":"ten"}}"#)
            let error = try await client.nextJSON()
            #expect(error["type"] == "error")
            #expect(error["code"] == "bad_request")
            #expect(error["id"] == "r1")
            guard case .string(let message)? = error["message"] else {
                Issue.record("no message")
                return
            }
            #expect(message.contains("data.limit"))
            try client.send(text: "{not json")
            let parseError = try await client.nextJSON()
            #expect(parseError["code"] == "bad_request")
            try client.send(binary: [1, 2, 3])
            let binaryError = try await client.nextJSON()
            #expect(binaryError["code"] == "bad_request")
            try client.send(text: #"{"type":"memory_serch","id":"r2"}"#)
            let unknown = try await client.nextJSON()
            #expect(unknown["code"] == "unknown_operation")
            try client.send(text: #"{"type":"slow","id":"r3","data":{"ms":1}}"#)
            let done = try await client.collect(until: "slow_complete")
            #expect(done.last?["slept"] == 1)
        }
    }

    @Test func cancelEndsTheRequestWithExactlyOneFinalMessage() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"slow","id":"long","data":{"ms":4000}}"#)
            // A connection's messages are handled in order: the request is in flight when its cancel is read.
            try client.send(text: #"{"type":"cancel","id":"long"}"#)
            let cancelled = try await client.nextJSON()
            #expect(cancelled["type"] == "error")
            #expect(cancelled["code"] == "cancelled")
            #expect(cancelled["id"] == "long")
            try client.send(text: #"{"type":"ping","id":"p"}"#)
            let pong = try await client.nextJSON()
            #expect(pong["type"] == "pong")
        }
    }

    @Test func timeoutShorterThanDeclaredIsHonoured() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"slow","id":"t","timeout":150,"data":{"ms":30000}}"#)
            let start = ContinuousClock.now
            let error = try await client.nextJSON()
            #expect(error["code"] == "slow_timeout")
            #expect(ContinuousClock.now - start < .seconds(15), "the 30 s handler was not waited for")
        }
    }

    @Test func heartbeatPingsFlowWhileAHandlerRuns() async throws {
        try await LiveRouter.with(try testRouter(), configure: { transport, _ in
            transport.heartbeatInterval = .milliseconds(100)
            transport.heartbeatTimeout = .seconds(5)
        }) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"slow","id":"h","data":{"ms":800}}"#)
            var pings = 0
            var completed = false
            let deadline = ContinuousClock.now + .seconds(30)
            while !completed {
                guard ContinuousClock.now < deadline else {
                    Issue.record("no slow_complete within 30 s (\(pings) pings)")
                    return
                }
                switch try await client.next() {
                case .ping: pings += 1
                case .text(let text): completed = text.contains("slow_complete")
                case let other: Issue.record("unexpected \(String(describing: other))"); return
                }
            }
            #expect(pings >= 5)
        }
    }

    @Test func largeResultsUseTheGzipEnvelopeWhenAsked() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory?compress=gzip")
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"bulk","id":"g","data":{"size":50000}}"#)
            let envelope = try await client.nextJSON()
            #expect(envelope["type"] == "bulk_complete")
            #expect(envelope["compressed"] == true)
            #expect(envelope["encoding"] == "gzip+base64")
            #expect(envelope["id"] == "g")
            guard case .string(let data)? = envelope["data"] else {
                Issue.record("no data in envelope")
                return
            }
            let inner = try GzipPayload.decompress(base64: data, limit: 1 << 20)
            let message = try JSONValue(parsing: Data(inner))
            #expect(message["type"] == "bulk_complete")
            #expect(message["seq"] == envelope["seq"])
            guard case .string(let text)? = message["text"] else {
                Issue.record("no text")
                return
            }
            #expect(text.count >= 49_990)
        }
    }

    @Test func withPermessageDeflateLargeResultsArePlainJSONCompressedByTheTransport() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            var options = WebSocketClient.Options()
            options.offerDeflate = true
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory?compress=gzip", options: options)
            #expect(client.usesDeflate)
            _ = try await client.nextJSON()
            try client.send(text: #"{"type":"bulk","id":"d","data":{"size":50000}}"#)
            let complete = try await client.nextJSON()
            #expect(complete["type"] == "bulk_complete")
            #expect(complete["compressed"] == nil)
        }
    }

    @Test func aConsumerThatStopsReadingIsClosedWith1008AndEmitIsHeldBack() async throws {
        let counter = Counter()
        // Every suspension of the handler's `emit`, with the chunks emitted before it, reported by the
        // transport's and the session's instrumentation hooks on the producer's thread (so the count is exact).
        let (holds, hold) = AsyncStream.makeStream(of: ProducerHold.self)
        try await LiveRouter.with(try testRouter(counter: counter), configure: { transport, settings in
            transport.writeHighWaterBytes = 256 << 10
            transport.writeLowWaterBytes = 64 << 10
            transport.slowConsumerTimeout = .milliseconds(500)
            settings.resume.bufferBytes = 1 << 20
            transport.onProducerSuspended = { hold.yield(.connectionBacklog(emitted: counter.current)) }
            settings.onProducerSuspendedForReplayRoom = { hold.yield(.replayRoom(emitted: counter.current)) }
        }) { server in
            // A raw client that upgrades, asks for 10,000 chunks of 64 KiB (640 MB), then never reads.
            let socket = try RawClient(port: server.port)
            try socket.upgrade(path: "/ws/memory")
            try socket.sendText(#"{"type":"bulk","id":"s","data":{"size":65536,"chunks":10000}}"#)
            // The kernel's socket buffers absorb some megabytes; then emit suspends on the connection's backlog.
            // Above the high-water mark for longer than the timeout, the server drops the peer (1008), and the
            // session, detached and waiting for a resume, takes the stream into its replay buffer (1 MiB, which
            // may already hold the last chunks sent while attached: at most 16 more chunks of 64 KiB) until emit
            // suspends again, for room in it. This client never acknowledges, so only a detached session holds
            // emit for replay room.
            let seen = Locked<[ProducerHold]>([])
            let reachedReplayHold = await within(.seconds(30)) {
                for await next in holds {
                    seen.withLock { $0.append(next) }
                    if case .replayRoom = next { return true }
                }
                return false
            }
            let sequence = seen.withLock { $0 }
            try #require(reachedReplayHold == true, "emit never waited for replay room; its holds: \(sequence)")
            guard case .connectionBacklog(let firstHeldAt) = sequence.first, case .replayRoom(let heldAgainAt) = sequence.last else {
                Issue.record("expected backlog holds, then a replay hold: \(sequence)")
                return
            }
            #expect(firstHeldAt < 10_000)
            // The stream's last wait on the connection ended when the connection closed.
            let closedAt = sequence.reversed().lazy.compactMap(\.backlogCount).first ?? firstHeldAt
            #expect(heldAgainAt - closedAt <= 16, "holds: \(sequence)")
            #expect(heldAgainAt < 10_000)
            #expect(counter.current == heldAgainAt, "emit stays held")
            // The session detached after its connection closed: the loop that closed it has since gone on.
            #expect(await server.transport.statistics().connections == 0)
            #expect(server.transport.openConnections == 0)
        }
    }
}

/// Where ``BulkHandler``'s `emit` was suspended, with the number of chunks emitted before it.
enum ProducerHold: Sendable, CustomStringConvertible {
    /// Above the connection's high-water mark.
    case connectionBacklog(emitted: Int)
    /// For room in the (detached) session's replay buffer.
    case replayRoom(emitted: Int)

    var backlogCount: Int? {
        if case .connectionBacklog(let emitted) = self { emitted } else { nil }
    }

    var description: String {
        switch self {
        case .connectionBacklog(let emitted): "backlog@\(emitted)"
        case .replayRoom(let emitted): "replay@\(emitted)"
        }
    }
}
