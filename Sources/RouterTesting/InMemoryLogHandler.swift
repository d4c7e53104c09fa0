public import RouterCore

/// Captures log records for assertions.
///
/// ```swift
/// let logs = InMemoryLogHandler()
/// let logger = Logger(label: "test", level: .debug, handler: logs)
/// …
/// #expect(logs.records.contains { $0.message == "request timed out" })
/// ```
public final class InMemoryLogHandler: LogHandler, Sendable {
    private let storage = Locked<[LogRecord]>([])

    public init() {}

    public func log(_ record: LogRecord) {
        storage.withLock { $0.append(record) }
    }

    /// Every record so far, in order.
    public var records: [LogRecord] { storage.withLock { $0 } }

    public func clear() { storage.withLock { $0.removeAll() } }
}
