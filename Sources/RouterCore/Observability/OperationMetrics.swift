import Synchronization

/// Per-operation counters, an in-flight gauge, a latency histogram and bytes out, plus
/// connection counts. Thread-safe (one lock); render with ``PrometheusText``.
package final class OperationMetrics: Sendable {
    /// How an operation ended.
    package enum Outcome: String, Sendable, CaseIterable {
        case completed
        case failed
        case timedOut = "timed_out"
        case cancelled
    }

    /// Upper bounds (seconds) of the latency histogram buckets; `+Inf` is implied.
    package static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    /// The counters of one operation type.
    package struct OperationCounters: Sendable, Equatable {
        package var started = 0
        package var completed = 0
        package var failed = 0
        package var timedOut = 0
        package var cancelled = 0
        package var inFlight = 0
        /// Non-cumulative counts per bucket of ``OperationMetrics/latencyBuckets``, plus one for `+Inf`.
        package var latencyBucketCounts = Array(repeating: 0, count: OperationMetrics.latencyBuckets.count + 1)
        package var latencySumSeconds = 0.0
        package var bytesOut = 0
        /// Handlers still running after their request ended (timed out or cancelled) for longer than a grace period.
        package var overrunning = 0
        /// How many handlers were ever counted in ``overrunning``.
        package var overruns = 0

        package var finished: Int { completed + failed + timedOut + cancelled }
    }

    /// A consistent copy of every value.
    package struct Snapshot: Sendable, Equatable {
        package var operations: [String: OperationCounters]
        package var connectionsOpened: Int
        package var connectionsCurrent: Int
        /// Requests rejected before running, by error code (`bad_request`, `overloaded`, …).
        package var rejected: [String: Int]
        /// The session counters of DESIGN §6.
        package var sessions = SessionCounters()
    }

    /// Sessions detached from their connection, resumed, expired; resume refusals by reason; replay bytes.
    package struct SessionCounters: Sendable, Equatable {
        package var detached = 0
        package var resumed = 0
        package var expired = 0
        /// Detached sessions waiting for a resume now.
        package var detachedCurrent = 0
        /// `resume_failed` answers by reason (`unknown_session`, `bad_token`, `expired`, `gap`, `seq_ahead`).
        package var resumeFailures: [String: Int] = [:]
        /// Bytes held in replay buffers now (every session).
        package var replayBufferBytes = 0
    }

    private let state = Locked(Snapshot(operations: [:], connectionsOpened: 0, connectionsCurrent: 0, rejected: [:]))
    /// Changed on every message a session keeps: an atomic, not the lock the other counters share.
    private let replayBytes = Atomic<Int>(0)

    /// Extra Prometheus text appended to ``prometheusText()`` (e.g. the memory store's compaction gauges).
    private let collectors = Locked<[@Sendable () -> String]>([])

    package init() {}

    /// Adds a source of extra metrics: `render` returns complete Prometheus text lines (`# HELP`, `# TYPE`
    /// and samples, each ending in a newline); it is called, outside any lock of this object, on every scrape.
    package func addCollector(_ render: @escaping @Sendable () -> String) {
        collectors.withLock { $0.append(render) }
    }

    package func snapshot() -> Snapshot {
        var snapshot = state.withLock { $0 }
        snapshot.sessions.replayBufferBytes = replayBufferBytes
        return snapshot
    }

    package func operationStarted(_ type: String) {
        state.withLock { Self.started(in: &$0.operations[type, default: OperationCounters()]) }
    }

    /// One lookup of the type's counters for both updates (each subscript hashes the type).
    private static func started(in counters: inout OperationCounters) {
        counters.started += 1
        counters.inFlight += 1
    }

    /// `bytesSent`: the bytes of the final message, counted with it (one lock and one lookup for both).
    package func operationFinished(_ type: String, outcome: Outcome, duration: Duration, bytesSent: Int = 0) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 }) ?? Self.latencyBuckets.count
        state.withLock {
            // Updated in place: a copy of the counters would copy their bucket array too.
            Self.record(
                outcome, bucket: bucket, seconds: seconds, bytesSent: bytesSent,
                in: &$0.operations[type, default: OperationCounters()])
        }
    }

    private static func record(
        _ outcome: Outcome, bucket: Int, seconds: Double, bytesSent: Int, in counters: inout OperationCounters
    ) {
        counters.bytesOut += bytesSent
        switch outcome {
        case .completed: counters.completed += 1
        case .failed: counters.failed += 1
        case .timedOut: counters.timedOut += 1
        case .cancelled: counters.cancelled += 1
        }
        counters.inFlight -= 1
        counters.latencyBucketCounts[bucket] += 1
        counters.latencySumSeconds += seconds
    }

    /// A handler of `type` is still running after its request ended (it ignores cancellation).
    package func handlerOverrunStarted(_ type: String) {
        state.withLock { Self.overrunStarted(in: &$0.operations[type, default: OperationCounters()]) }
    }

    private static func overrunStarted(in counters: inout OperationCounters) {
        counters.overrunning += 1
        counters.overruns += 1
    }

    /// An overrunning handler of `type` has returned at last.
    package func handlerOverrunEnded(_ type: String) {
        state.withLock { $0.operations[type, default: OperationCounters()].overrunning -= 1 }
    }

    package func bytesSent(_ type: String, count: Int) {
        state.withLock { $0.operations[type, default: OperationCounters()].bytesOut += count }
    }

    package func requestRejected(code: String) {
        state.withLock { $0.rejected[code, default: 0] += 1 }
    }

    package func connectionOpened() {
        state.withLock {
            $0.connectionsOpened += 1
            $0.connectionsCurrent += 1
        }
    }

    package func connectionClosed() {
        state.withLock { $0.connectionsCurrent -= 1 }
    }

    package func sessionDetached() {
        state.withLock {
            $0.sessions.detached += 1
            $0.sessions.detachedCurrent += 1
        }
    }

    /// A detached session was resumed (`true`) or ended without one (`expired` counts only the window running out).
    package func detachedSessionLeft(resumed: Bool, expired: Bool) {
        state.withLock {
            $0.sessions.detachedCurrent -= 1
            if resumed { $0.sessions.resumed += 1 }
            if expired { $0.sessions.expired += 1 }
        }
    }

    package func resumeFailed(reason: String) {
        state.withLock { $0.sessions.resumeFailures[reason, default: 0] += 1 }
    }

    /// Bytes held in replay buffers now.
    package var replayBufferBytes: Int { replayBytes.load(ordering: .relaxed) }

    /// Adds `delta` (possibly negative) to the bytes held in replay buffers.
    package func replayBytesChanged(by delta: Int) {
        guard delta != 0 else { return }
        replayBytes.add(delta, ordering: .relaxed)
    }

    /// The Prometheus text exposition of the current values.
    package func prometheusText() -> String {
        PrometheusText.render(snapshot()) + collectors.withLock { $0 }.map { $0() }.joined()
    }
}
