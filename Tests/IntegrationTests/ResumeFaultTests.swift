import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Synchronization
import Testing

/// Emits `count` ticks, `intervalMs` apart: a progress event and a chunk `{"tick": i}` each, then
/// `{"ticks": count}`. With `intervalMs` 100 and `count` 50 it is the issue's 5-second operation.
struct TickStreamHandler: OperationHandler {
    struct Request: Decodable, Sendable {
        var count: Int
        var intervalMs: Int
    }
    struct Chunk: Encodable, Sendable { var tick: Int }
    struct Response: Encodable, Sendable { var ticks: Int }
    static let messageType = "tick_stream"
    static let eventPrefix = "ticks"
    static let timeout: Duration = .seconds(120)
    static let stages = [ProgressStage("ticking")]

    /// When set, every run holds after emitting chunk `hold.afterTick` until `hold.gate` opens, so a
    /// test can cut connections while every operation is certainly still running.
    var hold: (afterTick: Int, gate: Gate)?

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        for tick in 0..<request.count {
            if request.intervalMs > 0 { try await Task.sleep(for: .milliseconds(request.intervalMs)) }
            context.progress("ticking", Double(tick + 1) / Double(request.count))
            try await context.emit(Chunk(tick: tick))
            if let hold, hold.afterTick == tick { await hold.gate.wait() }
        }
        return Response(ticks: request.count)
    }
}

/// Exactly-once delivery of one tick stream: each chunk once and in order, `seq` strictly
/// increasing (no duplicate), progress never decreasing, the result once and last; and across the
/// client's whole session no `seq` skipped (no gap) and none delivered twice.
func expectTicksExactlyOnce(
    _ events: [RouterEvent], error: (any Error)?, count: Int, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(error == nil, "the stream failed: \(String(describing: error))", sourceLocation: sourceLocation)
    let seqs = events.map(\.seq)
    #expect(Set(seqs).count == seqs.count, "a seq delivered twice", sourceLocation: sourceLocation)
    #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "seq out of order", sourceLocation: sourceLocation)
    let ticks = events.filter { $0.kind == .chunk }.compactMap { event -> Int? in
        if case .number(let value)? = event.message["tick"] { return Int(value) }
        return nil
    }
    if ticks != Array(0..<count) {
        let firstWrong = ticks.indices.first { ticks[$0] != $0 } ?? ticks.count
        Issue.record("chunks: got \(ticks.count) of \(count), first wrong at index \(firstWrong)", sourceLocation: sourceLocation)
    }
    let progress = events.compactMap(\.progress)
    #expect(zip(progress, progress.dropFirst()).allSatisfy { $0 <= $1 }, "progress went back", sourceLocation: sourceLocation)
    #expect(events.filter { $0.kind == .result }.count == 1, "the result not exactly once", sourceLocation: sourceLocation)
    #expect(events.last?.kind == .result, sourceLocation: sourceLocation)
    #expect(events.last?.message["ticks"] == .number(Double(count)), sourceLocation: sourceLocation)
}

/// The client's own session-wide view: nothing skipped, duplicates (replayed twice) dropped.
func expectNoGap(_ client: RouterClient, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(client.statistics.seqGaps == 0, "seq gaps: \(client.statistics)", sourceLocation: sourceLocation)
    #expect(client.statistics.resumeFailures.isEmpty, "resume failed: \(client.statistics)", sourceLocation: sourceLocation)
}

func faultRouter(hold: (afterTick: Int, gate: Gate)? = nil) throws -> Router {
    try RouterBuilder().register(TickStreamHandler(hold: hold)).build()
}

func faultSettings(_ transport: inout TransportConfiguration, _ settings: inout RouterSettings) {
    settings.progressInterval = .zero
    settings.heartbeatInterval = .milliseconds(500)
    settings.heartbeatTimeout = .milliseconds(500)
}

func faultClientOptions() -> RouterClient.Options {
    var options = RouterClient.Options()
    options.reconnect = .init(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
    options.connectTimeout = .seconds(10)
    return options
}

/// Runs a tick stream on `client`, calling `cut` once when chunk `cutAt` has arrived.
func runTicks(
    _ client: RouterClient, count: Int, intervalMs: Int, cutAt: Int, cut: @escaping () -> Void
) async -> (events: [RouterEvent], error: (any Error)?) {
    var events: [RouterEvent] = []
    events.reserveCapacity(count * 2 + 1)
    var didCut = false
    do {
        for try await event in client.request(type: "tick_stream", data: ["count": .number(Double(count)), "intervalMs": .number(Double(intervalMs))]) {
            events.append(event)
            if !didCut, event.chunkIndex == cutAt {
                didCut = true
                cut()
            }
        }
        return (events, nil)
    } catch {
        return (events, error)
    }
}

/// Counts arrivals across tasks.
final class ArrivalCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// Adds one and returns the new count.
    func arrive() -> Int { count.add(1, ordering: .relaxed).newValue }
}

@Suite("Resume under faults, over real sockets (issue 10)")
struct ResumeFaultTests {
    /// (1) The server closes the connection (1001, which detaches the session) in the middle of a
    /// 5-second operation: the client resumes and gets the rest of the progress and the result.
    @Test func serverSideCutDuringAFiveSecondOperationIsResumedExactlyOnce() async throws {
        try await LiveRouter.with(try faultRouter(), configure: faultSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: faultClientOptions())
            let session = client.session
            let (events, error) = await runTicks(client, count: 50, intervalMs: 100, cutAt: 10) {
                server.transport.closeAll(code: .goingAway, reason: "test cut")
            }
            expectTicksExactlyOnce(events, error: error, count: 50)
            expectNoGap(client)
            #expect(client.statistics.resumes == 1)
            #expect(client.session == session)
            await client.close()
        }
    }

    /// (1) The TCP connection is severed on the path (a proxy drops both halves, no close frame).
    @Test func networkCutDuringAFiveSecondOperationIsResumedExactlyOnce() async throws {
        try await LiveRouter.with(try faultRouter(), configure: faultSettings) { server in
            let proxy = try TCPProxy(targetPort: server.port)
            defer { proxy.stop() }
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(proxy.port)/ws/memory", options: faultClientOptions())
            let (events, error) = await runTicks(client, count: 50, intervalMs: 100, cutAt: 20) { proxy.cut() }
            expectTicksExactlyOnce(events, error: error, count: 50)
            expectNoGap(client)
            #expect(client.statistics.resumes == 1)
            #expect(proxy.acceptedConnections == 2)
            await client.close()
        }
    }

    /// (1) The client drops its own socket (no close frame) in the middle of the operation.
    @Test func clientSideCutDuringAFiveSecondOperationIsResumedExactlyOnce() async throws {
        try await LiveRouter.with(try faultRouter(), configure: faultSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: faultClientOptions())
            let (events, error) = await runTicks(client, count: 50, intervalMs: 100, cutAt: 30) { client.dropConnection() }
            expectTicksExactlyOnce(events, error: error, count: 50)
            expectNoGap(client)
            #expect(client.statistics.resumes == 1)
            await client.close()
        }
    }

    /// (2) A cut in the middle of a 10 000-chunk stream: after the resume the client holds every chunk once, in order.
    /// The stream holds after chunk 4 000 until the cut is made: unpaced, it could otherwise be sent whole into
    /// the proxy's buffers before a slow client reads chunk 4 000, and the cut would then interrupt nothing
    /// (seen under a parallel `swift test`).
    @Test func cutDuringATenThousandChunkStreamLosesAndRepeatsNothing() async throws {
        let cutMade = Gate()
        try await LiveRouter.with(try faultRouter(hold: (afterTick: 4_000, gate: cutMade)), configure: faultSettings) { server in
            let proxy = try TCPProxy(targetPort: server.port)
            defer { proxy.stop() }
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(proxy.port)/ws/memory", options: faultClientOptions())
            let (events, error) = await runTicks(client, count: 10_000, intervalMs: 0, cutAt: 4_000) {
                proxy.cut()
                cutMade.open()
            }
            expectTicksExactlyOnce(events, error: error, count: 10_000)
            expectNoGap(client)
            #expect(client.statistics.resumes == 1)
            await client.close()
        }
    }

    /// (6) 100 clients, each in the middle of an operation, cut at once: all resume, all complete exactly once.
    /// Every operation holds after chunk 5 until the cut is made, so none can finish before it however slow
    /// the machine (under ThreadSanitizer, connecting 100 clients once outlasted a whole 5-second run).
    @Test func aHundredClientsCutAtOnceAllResumeAndComplete() async throws {
        let cutMade = Gate()
        try await LiveRouter.with(
            try faultRouter(hold: (afterTick: 5, gate: cutMade)),
            configure: { transport, settings in
                faultSettings(&transport, &settings)
                settings.maxInFlightTotal = 4096
                // 100 clients and 400 proxy threads on a shared machine: fewer heartbeat drops besides the cut
                // (under a loaded full `swift test` some still happen; exactly-once must hold regardless).
                settings.heartbeatInterval = .seconds(5)
                settings.heartbeatTimeout = .seconds(5)
            }
        ) { server in
            let proxy = try TCPProxy(targetPort: server.port)
            defer { proxy.stop() }
            let clients = 100
            let reachedCutPoint = ArrivalCounter()
            let (allThere, allThereContinuation) = AsyncStream<Void>.makeStream()
            let results = try await withThrowingTaskGroup(of: (Int, [RouterEvent], (any Error)?, RouterClient).self) { group in
                for index in 0..<clients {
                    group.addTask {
                        let client = try await RouterClient.connect(
                            url: "ws://127.0.0.1:\(proxy.port)/ws/memory", options: faultClientOptions())
                        let (events, error) = await runTicks(client, count: 100, intervalMs: 50, cutAt: 5) {
                            if reachedCutPoint.arrive() == clients { allThereContinuation.finish() }
                        }
                        return (index, events, error, client)
                    }
                }
                // Every client has seen chunk 5 of its run: cut all 100 connections at once.
                for await _ in allThere {}
                proxy.cut()
                cutMade.open()
                var results: [(Int, [RouterEvent], (any Error)?, RouterClient)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == clients)
            for (index, events, error, client) in results {
                expectTicksExactlyOnce(events, error: error, count: 100)
                expectNoGap(client)
                #expect(client.statistics.resumes >= 1, "client \(index): \(client.statistics)")
                await client.close()
            }
        }
    }
}

extension RouterClient {
    /// Waits for the first connection event matching `predicate` (failing after `timeout`, a guard only).
    func waitFor(
        _ what: String, timeout: Duration = .seconds(20), _ predicate: @escaping @Sendable (ConnectionEvent) -> Bool
    ) async throws -> ConnectionEvent {
        let events = connectionEvents
        return try await withThrowingTaskGroup(of: ConnectionEvent?.self) { group in
            group.addTask {
                for await event in events where predicate(event) { return event }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let event = try await group.next() ?? nil else {
                throw RouterError(code: "test_timeout", message: "no \(what) within \(timeout)")
            }
            return event
        }
    }
}

extension ConnectionEvent {
    var isDisconnected: Bool { if case .disconnected = self { true } else { false } }
}
