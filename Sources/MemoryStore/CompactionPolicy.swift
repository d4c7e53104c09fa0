/// When a ``MemoryStore`` compacts its log in the background: once superseded and deleted records ("dead
/// bytes") make up at least ``deadRatio`` of a log of at least ``minimumBytes``.
public struct CompactionPolicy: Sendable, Hashable {
    /// Fraction of the log (0 < ratio ≤ 1) that must be dead before a compaction starts.
    public var deadRatio: Double
    /// Logs smaller than this are never compacted automatically.
    public var minimumBytes: Int
    /// False turns automatic compaction off (``MemoryStore/compact()`` still works).
    public var enabled: Bool

    /// Compacts when half of a log of at least 1 MiB is dead.
    public static let `default` = CompactionPolicy(deadRatio: 0.5, minimumBytes: 1 << 20)
    /// Never compacts automatically.
    public static let disabled = CompactionPolicy(deadRatio: 1, minimumBytes: .max, enabled: false)

    /// A policy; `deadRatio` is clamped to 0.01 … 1.
    public init(deadRatio: Double, minimumBytes: Int, enabled: Bool = true) {
        self.deadRatio = min(1, max(0.01, deadRatio))
        self.minimumBytes = max(0, minimumBytes)
        self.enabled = enabled
    }

    /// True when a log of `logBytes` with `deadBytes` dead should be compacted.
    public func shouldCompact(logBytes: Int, deadBytes: Int) -> Bool {
        guard enabled, logBytes >= minimumBytes, logBytes > 0 else { return false }
        return Double(deadBytes) >= deadRatio * Double(logBytes)
    }
}

/// What one compaction did (``MemoryStore/compact()``, or a background one through
/// ``MemoryStore/onCompaction(_:)``).
public struct CompactionReport: Sendable, Equatable {
    /// Live entries written.
    public var entries: Int
    /// Log size before (0 for an in-memory store).
    public var bytesBefore: Int
    /// Log size after (0 for an in-memory store).
    public var bytesAfter: Int
    /// Bytes appended by writers while the compaction ran, copied into the new log.
    public var bytesCopiedFromTail = 0
    /// The part of them copied in the final step, while writers waited.
    public var bytesCopiedDuringPause = 0
    /// Wall time of the whole compaction.
    public var duration: Duration = .zero
    /// How long writers were blocked (the final copy, fsync, rename and directory fsync). Readers never are.
    public var pause: Duration = .zero

    /// A report.
    public init(entries: Int, bytesBefore: Int, bytesAfter: Int) {
        self.entries = entries
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
    }
}

/// Counters of a store's compactions, for metrics.
public struct CompactionStatistics: Sendable, Equatable {
    /// Compactions that completed.
    public var completed = 0
    /// Compactions that failed (the old log stays in use).
    public var failed = 0
    /// True while one runs.
    public var running = false
    /// Bytes removed from the log by compactions so far.
    public var bytesReclaimed = 0
    /// The last completed compaction.
    public var last: CompactionReport?
    /// Current log size in bytes (0 in memory).
    public var logBytes = 0
    /// Bytes of the log held by superseded or deleted records.
    public var deadBytes = 0
}

/// What a background compaction reports to ``MemoryStore/onCompaction(_:)``.
public enum CompactionEvent: Sendable {
    /// A compaction started: log size and dead bytes at that moment.
    case started(logBytes: Int, deadBytes: Int)
    /// It completed.
    case completed(CompactionReport)
    /// It failed; the store keeps using the old log (or refuses writes if the failure left it unsure).
    case failed(MemoryStoreError)
}
