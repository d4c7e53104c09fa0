/// An error from ``MemoryStore`` or ``AppendOnlyLog``: a ``code`` to switch on and a message that says what
/// failed and where (the entry id, the file path and `errno` text).
///
/// Equality compares codes and messages.
public struct MemoryStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. A struct over a private enum, so kinds can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case invalidEntry, dimensionMismatch, io, locked, closed, notAStoreFile, failed
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

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Human-readable: what and where, e.g. `entries[3] (id "mem-7"): embedding has 12 values, the store's dimension is 8`.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
