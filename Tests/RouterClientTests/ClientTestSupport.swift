import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Testing

/// Emits `count` ticks: a progress event and a chunk `{"tick": i}` each, `intervalMs` apart, then
/// returns `{"ticks": count}`. A long operation whose every event can be checked for exactly-once.
struct TickerHandler: OperationHandler {
    struct Request: Decodable, Sendable {
        var count: Int
        var intervalMs: Int
    }
    struct Chunk: Encodable, Sendable { var tick: Int }
    struct Response: Encodable, Sendable { var ticks: Int }
    static let messageType = "ticker"
    static let eventPrefix = "tick"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("ticking")]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        for tick in 0..<request.count {
            if request.intervalMs > 0 { try await Task.sleep(for: .milliseconds(request.intervalMs)) }
            context.progress("ticking", Double(tick + 1) / Double(request.count))
            try await context.emit(Chunk(tick: tick))
        }
        return Response(ticks: request.count)
    }
}

/// Waits until cancelled, reporting `started <id-less tag>` and `cancelled <tag>` to a probe.
struct GateHandler: OperationHandler {
    struct Request: Decodable, Sendable { var tag: String }
    struct Response: Encodable, Sendable { var tag: String }
    static let messageType = "gate"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("waiting")]
    let probe: Probe

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        probe.record("started \(request.tag)")
        do {
            try await Task.sleep(for: .seconds(60))
        } catch {
            probe.record("cancelled \(request.tag)")
            throw error
        }
        return Response(tag: request.tag)
    }
}

/// A log of what handlers did, with a way to wait for an entry (a signal, not a sleep).
final class Probe: Sendable {
    private let state = Locked<(entries: [String], waiters: [(String, CheckedContinuation<Void, Never>)])>(([], []))

    func record(_ entry: String) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.entries.append(entry)
            let ready = state.waiters.filter { $0.0 == entry }.map(\.1)
            state.waiters.removeAll { $0.0 == entry }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    var entries: [String] { state.withLock { $0.entries } }

    /// Returns once `entry` was recorded.
    func wait(for entry: String) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.entries.contains(entry) { return true }
                state.waiters.append((entry, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

func clientTestRouter(probe: Probe = Probe()) throws -> Router {
    try RouterBuilder().register(TickerHandler()).register(GateHandler(probe: probe)).build()
}

/// Short heartbeats and uncoalesced progress, so tests run in about a second.
func fastSettings(_ transport: inout TransportConfiguration, _ settings: inout RouterSettings) {
    settings.progressInterval = .zero
    settings.heartbeatInterval = .milliseconds(300)
    settings.heartbeatTimeout = .milliseconds(300)
}

/// Client options for tests: fast, deterministic reconnects.
func testOptions() -> RouterClient.Options {
    var options = RouterClient.Options()
    options.reconnect = .init(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200))
    options.connectTimeout = .seconds(5)
    return options
}

/// Everything a request stream produced.
struct Outcome: Sendable {
    var events: [RouterEvent] = []
    var error: (any Error)?
}

func collect(_ stream: AsyncThrowingStream<RouterEvent, any Error>, onEvent: (RouterEvent) -> Void = { _ in }) async -> Outcome {
    var outcome = Outcome()
    do {
        for try await event in stream {
            outcome.events.append(event)
            onEvent(event)
        }
    } catch {
        outcome.error = error
    }
    return outcome
}

/// Asserts exactly-once delivery of a ticker run of `count` ticks: every chunk once and in order,
/// `seq` strictly increasing, progress never decreasing, one result and it is last.
func expectExactlyOnce(_ outcome: Outcome, ticks count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(outcome.error == nil, "stream failed: \(String(describing: outcome.error))", sourceLocation: sourceLocation)
    let seqs = outcome.events.map(\.seq)
    #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "seq not strictly increasing", sourceLocation: sourceLocation)
    let ticks = outcome.events.filter { $0.kind == .chunk }.compactMap { event -> Int? in
        if case .number(let value)? = event.message["tick"] { return Int(value) }
        return nil
    }
    #expect(ticks == Array(0..<count), "chunks: \(ticks.count) of \(count), first wrong at \(firstMismatch(ticks, count))", sourceLocation: sourceLocation)
    let progress = outcome.events.compactMap(\.progress)
    #expect(zip(progress, progress.dropFirst()).allSatisfy { $0 <= $1 }, "progress went back", sourceLocation: sourceLocation)
    let results = outcome.events.filter { $0.kind == .result }
    #expect(results.count == 1, "\(results.count) results", sourceLocation: sourceLocation)
    #expect(outcome.events.last?.kind == .result, sourceLocation: sourceLocation)
    #expect(results.first?.message["ticks"] == .number(Double(count)), sourceLocation: sourceLocation)
}

private func firstMismatch(_ ticks: [Int], _ count: Int) -> Int {
    for (index, tick) in ticks.enumerated() where tick != index { return index }
    return min(ticks.count, count)
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
    var isResumed: Bool { if case .resumed = self { true } else { false } }
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var isResumeFailed: Bool { if case .resumeFailed = self { true } else { false } }
    var isDisconnected: Bool { if case .disconnected = self { true } else { false } }
}
