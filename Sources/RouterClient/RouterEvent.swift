public import RouterCore

/// One event of a request, as ``RouterClient/request(type:data:timeout:id:)`` yields it: the server
/// message with its kind. Progress and chunks come first, in `seq` order; the result ends the stream.
public struct RouterEvent: Sendable, Equatable {
    /// What the server message is.
    public enum Kind: Sendable, Hashable {
        /// `<prefix>_progress`: `stage`, `stageIndex`, `stages`, `progress` (0…1), optional `message`.
        case progress
        /// `<prefix>_chunk`: a streamed part, `chunk` is its index from 0.
        case chunk
        /// `<prefix>_complete`: the result; always the stream's last event.
        case result
    }

    /// The kind of message.
    public var kind: Kind
    /// The message's `seq` in its session (unique and increasing across reconnects).
    public var seq: UInt64
    /// The whole server message (`type`, `id`, `op`, `seq` and the operation's fields).
    public var message: JSONValue

    /// An event of `kind` carrying the server `message` with its `seq`.
    public init(kind: Kind, seq: UInt64, message: JSONValue) {
        self.kind = kind
        self.seq = seq
        self.message = message
    }

    /// The progress fraction (0…1) of a progress event, nil otherwise.
    public var progress: Double? {
        if kind == .progress, case .number(let value)? = message["progress"] { return value }
        return nil
    }

    /// The stage name of a progress event, nil otherwise.
    public var stage: String? {
        if kind == .progress, case .string(let value)? = message["stage"] { return value }
        return nil
    }

    /// The index of a chunk event, nil otherwise.
    public var chunkIndex: Int? {
        if kind == .chunk, case .number(let value)? = message["chunk"] { return Int(value) }
        return nil
    }

    /// The message without its envelope members (`type`, `id`, `op`, `seq`): a result's fields, a chunk's data.
    public var fields: JSONValue {
        guard case .object(var members) = message else { return message }
        for key in ["type", "id", "op", "seq"] { members[key] = nil }
        return .object(members)
    }

    /// Decodes ``fields`` into `T` (e.g. an operation's response type).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try fields.decode(type)
    }
}

/// A request's failure: a server `error` (DESIGN §4: `<type>_timeout`, `<type>_error`, `cancelled`,
/// `bad_request`, `overloaded`, …) or one of the client's own codes (``sessionLost``, ``closed``, ``offline``).
public struct RouterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error code, e.g. `memory_search_timeout` or ``sessionLost``.
    public var code: String
    /// What happened, in words.
    public var message: String
    /// The request id, when the error belongs to a request.
    public var id: String?
    /// The request's operation type, when known.
    public var op: String?

    /// An error with `code` and `message`, tied to request `id` of operation `op` when given.
    public init(code: String, message: String, id: String? = nil, op: String? = nil) {
        self.code = code
        self.message = message
        self.id = id
        self.op = op
    }

    /// The connection dropped and the session could not be resumed (`resume_failed`): the server
    /// cancelled (or could no longer report) the operation. The message says why.
    public static let sessionLost = "session_lost"
    /// ``RouterClient/close()`` was called while the request was in flight, or before it was made.
    public static let closed = "closed"
    /// Reconnecting gave up after ``RouterClient/ReconnectPolicy/maxAttempts`` failed attempts.
    public static let offline = "offline"

    public var description: String {
        "\(code): \(message)" + (id.map { " (request \($0))" } ?? "")
    }
}

/// What happens to the client's connection, in order (``RouterClient/connectionEvents``).
public enum ConnectionEvent: Sendable, Hashable {
    /// A fresh session started (`welcome`).
    case connected(session: String)
    /// A reconnect resumed the session; `replaying` events follow before live ones.
    case resumed(session: String, replaying: UInt64)
    /// The server refused the resume (`unknown_session`, `bad_token`, `expired`, `gap`, `seq_ahead`);
    /// in-flight requests failed with ``RouterError/sessionLost`` and a new session goes on.
    case resumeFailed(reason: String, newSession: String)
    /// The connection ended (or an attempt failed), with why.
    case disconnected(reason: String)
    /// The next attempt starts after `delay`.
    case reconnecting(attempt: Int, delay: Duration)
    /// ``RouterClient/close()`` was called, or reconnecting gave up.
    case closed
}
