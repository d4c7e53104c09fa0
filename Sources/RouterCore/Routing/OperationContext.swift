import Foundation

/// What a handler gets for one request: progress, streamed chunks, its deadline, a logger, the
/// session and request ids, and the host's shared services.
///
/// Cancellation is cooperative: the router cancels the handler's task on timeout, on the client's
/// `cancel` and when the connection closes, so `Task.checkCancellation()` and cancellable awaits work.
public struct OperationContext: Sendable {
    /// The session (connection) the request came from.
    public let sessionID: String
    /// The request's id (the client's, or one the server assigned).
    public let requestID: String
    /// The operation's message type.
    public let messageType: String
    /// When the router will cancel this request.
    public let deadline: OperationDeadline
    /// Logger with `session.id`, `op.id` and `op.type` metadata.
    ///
    /// The request's keys are added to the record only when something is logged.
    public var logger: Logger {
        get { customLogger ?? sessionLogger.forRequest(id: requestID, type: messageType) }
        set { customLogger = newValue }
    }
    /// The logger of the session the request came from, without the request's metadata.
    let sessionLogger: Logger
    private var customLogger: Logger?
    /// Services the host registered (e.g. the memory store).
    public let services: ServiceRegistry

    let channel: RequestChannel

    init(
        sessionID: String, requestID: String, messageType: String, deadline: OperationDeadline,
        sessionLogger: Logger, services: ServiceRegistry, channel: RequestChannel
    ) {
        self.sessionID = sessionID
        self.requestID = requestID
        self.messageType = messageType
        self.deadline = deadline
        self.sessionLogger = sessionLogger
        self.services = services
        self.channel = channel
    }

    /// Reports progress: `fraction` (0…1) of the declared stage named `stage`.
    ///
    /// Never blocks. Reports are coalesced to ≤ ~10 per second per request (stage changes always
    /// pass) and overall progress never decreases. A stage that is not among the handler's
    /// declared ``OperationHandler/stages``, or earlier than one already reported, is ignored
    /// (logged at debug level) rather than thrown, so progress reporting can never fail a request.
    public func progress(_ stage: String, _ fraction: Double, message: String? = nil) {
        channel.progress(stage: stage, fraction: fraction, message: message)
    }

    /// Reports the start of `stage` (`progress(stage, 0, message:)`).
    public func advance(to stage: String, message: String? = nil) {
        progress(stage, 0, message: message)
    }

    /// Streams a partial result as `<prefix>_chunk` (`chunk` index from 0, plus the value's fields).
    ///
    /// Suspends while the connection's outbound queue is above its high-water mark (backpressure).
    /// Throws `CancellationError` if the request was cancelled, timed out, or its connection closed.
    /// A value that does not encode as a JSON object is sent under the key `value`.
    public func emit(_ chunk: some Encodable & Sendable) async throws {
        try await channel.emit(try ResultFields.encode(chunk))
    }
}

/// Encodes handler values (responses, chunks) into JSON object members.
enum ResultEncoding {
    /// - Throws: ``EnvelopeFieldCollision`` for a field the router writes itself (never dropped silently).
    static func fields(of value: some Encodable) throws -> [String: JSONValue] {
        let fields: [String: JSONValue]
        switch try JSONValueEncoder.encode(value) {
        case .object(let members): fields = members
        case let other: fields = ["value": other]
        }
        try checkEnvelope(fields)
        return fields
    }

    /// Refuses result or chunk fields named like the envelope's own (`seq`, `chunk`, `elapsedMs`, …).
    static func checkEnvelope(_ fields: [String: JSONValue]) throws(EnvelopeFieldCollision) {
        let colliding = fields.keys.filter { ServerMessage.reservedKeys.contains($0) }
        if !colliding.isEmpty { throw EnvelopeFieldCollision(fields: colliding.sorted()) }
    }
}

/// A result or chunk with a field the router writes itself (`type`, `id`, `op`, `seq`, `chunk`,
/// `elapsedMs`). The request fails with `<type>_error` naming the field, and the handler's
/// `OperationHarness` tests see the same error: rename the field.
public struct EnvelopeFieldCollision: Error, Sendable, Equatable, CustomStringConvertible {
    /// The colliding field names.
    public let fields: [String]

    public var description: String {
        let names = fields.map { "\"\($0)\"" }.joined(separator: ", ")
        let reserved = ServerMessage.reservedKeys.sorted().joined(separator: ", ")
        return "its result has \(fields.count == 1 ? "the field" : "the fields") \(names), which the router's envelope uses (reserved: \(reserved))"
    }
}
