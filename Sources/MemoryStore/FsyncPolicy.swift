/// When ``AppendOnlyLog`` forces appended records to stable storage with `fsync(2)`.
///
/// A struct over a private enum (spelled like an enum: `.always`, `.interval(.milliseconds(50))`, `.never`),
/// so policies can be added later without breaking callers.
public struct FsyncPolicy: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Hashable {
        case always
        case interval(Duration)
        case never
    }

    let kind: Kind

    /// `fsync` before every append returns: an acknowledged write survives a power cut. The default.
    public static let always = FsyncPolicy(kind: .always)

    /// At most one `fsync` per `period`: an append syncs if the last sync is older than `period`, otherwise
    /// a sync is scheduled for when the period ends. Every write acknowledged more than `period` before a power
    /// cut is on disk; a power cut can lose the writes of the last `period` (a crash of the process alone loses
    /// none: the data is in the page cache).
    public static func interval(_ period: Duration) -> FsyncPolicy { FsyncPolicy(kind: .interval(period)) }

    /// Never `fsync` appends: acknowledged writes reach the disk when the kernel writes them back, or when the
    /// store is closed (``MemoryStore/close()`` syncs) or compacted. A power cut can lose any of them; a crash
    /// of the process alone loses none. For tests, benchmarks and disposable data.
    public static let never = FsyncPolicy(kind: .never)

    public var description: String {
        switch kind {
        case .always: "always"
        case .interval(let period): "interval(\(period))"
        case .never: "never"
        }
    }
}

/// What ``AppendOnlyLog/open(path:fsync:replay:)`` found: how much it loaded and whether (and why) it cut a
/// torn tail off the file. Recovery is never silent: check ``truncation`` and ``newerRecordsSkipped``.
public struct OpenReport: Sendable, Equatable, CustomStringConvertible {
    /// Where and why the log was truncated.
    public struct Truncation: Sendable, Equatable {
        /// 0-based index of the first record that failed (= the number of good records before it).
        public var recordIndex: Int
        /// Byte offset of that record in the file; the file now ends here.
        public var offset: Int
        /// What was wrong, e.g. `checksum mismatch`, `truncated payload (needs 120 bytes, 37 available)`.
        public var problem: String

        /// `record 1203 at offset 88412: checksum mismatch`.
        public var reason: String { "record \(recordIndex) at offset \(offset): \(problem)" }
    }

    /// Path of the log file.
    public var path: String
    /// Records read and replayed (upserts and deletes).
    public var recordsLoaded: Int
    /// Live entries after replay (filled in by ``MemoryStore``; equals 0 for a bare ``AppendOnlyLog``).
    public var entriesLoaded: Int
    /// Bytes cut off the end of the file (0 when the log was clean).
    public var bytesTruncated: Int
    /// Set when the log had a torn tail (the only damage repaired on open).
    public var truncation: Truncation?
    /// True when no log file existed and one was created (a store that never held data).
    public var created: Bool
    /// Records of a kind added by a newer build: kept in the file, skipped (see ``LogRecord``). Compaction is
    /// disabled while the log holds any, since it cannot rewrite them.
    public var newerRecordsSkipped = 0

    /// True when nothing was truncated or skipped.
    public var isClean: Bool { truncation == nil && newerRecordsSkipped == 0 }

    public var description: String {
        var text = "\(path): \(recordsLoaded) records, \(entriesLoaded) entries"
        if created { text += ", new log" }
        if let truncation {
            text += "; torn tail: truncated \(bytesTruncated) bytes at \(truncation.reason)"
        }
        if newerRecordsSkipped > 0 {
            text += "; skipped \(newerRecordsSkipped) record\(newerRecordsSkipped == 1 ? "" : "s") written by a newer build (kept in the file)"
        }
        return text
    }
}
