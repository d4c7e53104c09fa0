public import Foundation

/// A value-type logger: a label, a level, metadata and a ``LogHandler`` backend.
///
/// Loggers are values: changing a copy's level or metadata never affects the original.
/// ```swift
/// var logger2 = logger1
/// logger2.logLevel = .error            // must not affect logger1
/// #expect(logger1.logLevel == .debug)
/// ```
/// Messages are `@autoclosure`s: a disabled level costs a comparison. Metadata keys are
/// namespaced: `op.id`, `op.type`, `session.id`.
public struct Logger: Sendable {
    /// Severity, from most verbose to most severe.
    public enum Level: String, Sendable, Codable, CaseIterable, Comparable {
        /// Very fine detail, e.g. each progress decision.
        case trace
        /// Detail useful while developing, e.g. an ignored unknown progress stage.
        case debug
        /// Normal events, e.g. a connection opened.
        case info
        /// Normal but significant, e.g. a request timed out.
        case notice
        /// Something unexpected that the router handled, e.g. a handler ignoring cancellation.
        case warning
        /// An operation failed because of an error, e.g. a handler threw.
        case error
        /// The process cannot continue as configured.
        case critical

        /// Position from most verbose to most severe (a switch: `allCases` would build an array per comparison,
        /// and every log call compares).
        private var rank: Int {
            switch self {
            case .trace: 0
            case .debug: 1
            case .info: 2
            case .notice: 3
            case .warning: 4
            case .error: 5
            case .critical: 6
            }
        }
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
    }

    public typealias Metadata = [String: String]

    public var label: String
    public var logLevel: Level
    public var handler: any LogHandler

    /// Metadata added to every record.
    public var metadata: Metadata {
        get {
            guard let request else { return storedMetadata }
            var merged = storedMetadata
            merged["op.id"] = request.id
            merged["op.type"] = request.type
            return merged
        }
        set {
            storedMetadata = newValue
            request = nil
        }
    }

    private var storedMetadata: Metadata
    /// A request's `op.id` and `op.type`, kept apart from ``metadata`` until a record is made: every request
    /// has a logger, few log, and adding two keys to a dictionary copies it.
    private var request: (id: String, type: String)?

    public init(label: String, level: Level = .info, metadata: Metadata = [:], handler: any LogHandler = StderrLogHandler()) {
        self.label = label
        self.logLevel = level
        self.storedMetadata = metadata
        self.handler = handler
    }

    /// A logger that drops everything.
    public static var disabled: Logger { Logger(label: "disabled", level: .critical, handler: NoOpLogHandler()) }

    public subscript(metadataKey key: String) -> String? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        _ level: Level, _ message: @autoclosure () -> String, metadata extra: @autoclosure () -> Metadata = [:]
    ) {
        guard level >= logLevel else { return }
        var merged = metadata
        for (key, value) in extra() { merged[key] = value }
        handler.log(LogRecord(timestamp: Date(), level: level, label: label, message: message(), metadata: merged))
    }

    public func trace(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.trace, message(), metadata: metadata())
    }
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.debug, message(), metadata: metadata())
    }
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.info, message(), metadata: metadata())
    }
    public func notice(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.notice, message(), metadata: metadata())
    }
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.warning, message(), metadata: metadata())
    }
    public func error(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.error, message(), metadata: metadata())
    }
    public func critical(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata = [:]) {
        log(.critical, message(), metadata: metadata())
    }
}

/// One log event as handed to a ``LogHandler``.
public struct LogRecord: Sendable {
    public var timestamp: Date
    public var level: Logger.Level
    public var label: String
    public var message: String
    public var metadata: Logger.Metadata

    public init(timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) {
        self.timestamp = timestamp
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }
}

/// A logging backend. Called from any thread or task; must be thread-safe and must not block for long.
public protocol LogHandler: Sendable {
    func log(_ record: LogRecord)
}

/// Drops every record.
struct NoOpLogHandler: LogHandler {
    init() {}
    func log(_ record: LogRecord) {}
}

extension Logger {
    /// This logger with a request's `op.id` and `op.type` metadata (no copy of the metadata until a record
    /// is made).
    package func forRequest(id: String, type: String) -> Logger {
        var logger = self
        logger.request = (id, type)
        return logger
    }
}
