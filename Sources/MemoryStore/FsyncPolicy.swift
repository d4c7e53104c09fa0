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
    /// a sync is scheduled for when the period ends. A crash of the machine (not of the process: the data is
    /// in the page cache) can lose up to `period` of acknowledged writes.
    public static func interval(_ period: Duration) -> FsyncPolicy { FsyncPolicy(kind: .interval(period)) }

    /// Never `fsync` appends (compaction still syncs): for tests, benchmarks and disposable data.
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
/// torn or corrupt tail off the file. Recovery is never silent: check ``truncation``.
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
    /// Set when the log had a torn or corrupt tail.
    public var truncation: Truncation?
    /// True when the file did not exist (or was empty) and was created.
    public var created: Bool

    /// True when nothing was truncated.
    public var isClean: Bool { truncation == nil }

    public var description: String {
        var text = "\(path): \(recordsLoaded) records, \(entriesLoaded) entries"
        if created { text += ", new log" }
        if let truncation {
            text += "; truncated \(bytesTruncated) bytes at \(truncation.reason)"
        }
        return text
    }
}
