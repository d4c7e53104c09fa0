/// An error from ``MemoryStore`` or ``AppendOnlyLog``: a ``code`` to switch on and a message that says what
/// failed and where (the entry id, the file path and `errno` text).
///
/// Equality compares codes and messages.
public struct MemoryStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. A struct over a private enum, so kinds can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case invalidEntry, dimensionMismatch, io, locked, closed, notAStoreFile, failed, corrupt, newerFormat
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// An entry failed validation (empty id, non-finite embedding, …).
        public static let invalidEntry = Code(.invalidEntry)
        /// An embedding (or a query vector) has a different length than the store's dimension.
        public static let dimensionMismatch = Code(.dimensionMismatch)
        /// A system call on the log or its directory failed.
        public static let io = Code(.io)
        /// Another open store (in this or another process) holds the log's lock.
        public static let locked = Code(.locked)
        /// The store was closed.
        public static let closed = Code(.closed)
        /// The log file does not start with the store's magic header: refused, never truncated.
        public static let notAStoreFile = Code(.notAStoreFile)
        /// An earlier write or fsync failed; the store refuses further writes (the state on disk is unknown,
        /// and retrying fsync after a failure is not safe). Reopen to recover.
        public static let failed = Code(.failed)

        /// The log is damaged somewhere other than a torn last record: nothing was changed, the store did not
        /// open. ``MemoryStoreError/damage`` says where; ``MemoryStore/repair(directory:)`` salvages it.
        public static let corrupt = Code(.corrupt)
        /// The log (or the operation asked for) needs a newer build: refused, the file is left untouched.
        public static let newerFormat = Code(.newerFormat)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Human-readable: what and where, e.g. `entries[3] (id "mem-7"): embedding has 12 values, the store's dimension is 8`.
    public let message: String

    /// For ``Code/corrupt``: where the log is damaged.
    public let damage: LogDamage?

    /// Creates an error.
    public init(_ code: Code, _ message: String, damage: LogDamage? = nil) {
        self.code = code
        self.message = message
        self.damage = damage
    }

    public var description: String { "\(code): \(message)" }
}

/// Where a log is damaged, as found when opening it (``MemoryStoreError/Code/corrupt``).
public struct LogDamage: Sendable, Equatable, CustomStringConvertible {
    /// The log file.
    public var path: String
    /// 0-based index of the first record that could not be read (= the number of good records before it).
    public var recordIndex: Int
    /// Byte offset of that record in the file.
    public var offset: Int
    /// What is wrong there, e.g. `checksum mismatch`, `implausible payload length 2130706432`.
    public var problem: String
    /// Records with a valid checksum after the damage: what truncating there would have destroyed.
    public var validRecordsAfter: Int

    /// `/data/memories.log: record 5 at offset 1234: checksum mismatch; 6 valid records follow it`.
    public var description: String {
        "\(path): record \(recordIndex) at offset \(offset): \(problem); "
            + "\(validRecordsAfter) valid record\(validRecordsAfter == 1 ? "" : "s") follow\(validRecordsAfter == 1 ? "s" : "") it"
    }
}
