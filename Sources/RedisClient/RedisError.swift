/// Every failure of the Redis client, each with a message that says what happened and where.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The TCP connection could not be made (`reason` is the system's).
    case connectFailed(address: String, reason: String)
    /// No answer within the timeout (`what`: "connect", "AUTH", or the command).
    case timeout(what: String, after: Duration)
    /// The server closed the connection, or it broke, while `what` was pending.
    case connectionLost(what: String, reason: String)
    /// The server answered with an error reply (`ERR …`, `WRONGTYPE …`, `NOAUTH …`).
    case server(String)
    /// The bytes from the server are not RESP2; the connection was dropped.
    case protocolViolation(RESPProtocolError)
    /// The server refused the password (or user and password).
    case authenticationFailed(String)
    /// Not connected, and the next reconnect attempt is not due yet (see ``ReconnectBackoff``).
    case unavailable(lastError: String, retryIn: Duration)
    /// The reply had an unexpected shape for the command.
    case unexpectedReply(command: String, reply: String)
    /// The client was closed.
    case closed
    /// A `redis://` URL that cannot be used.
    case invalidURL(String)

    public var description: String {
        switch self {
        case .connectFailed(let address, let reason): "cannot connect to Redis at \(address): \(reason)"
        case .timeout(let what, let after): "Redis did not answer \(what) within \(Self.milliseconds(after)) ms"
        case .connectionLost(let what, let reason): "connection to Redis lost during \(what): \(reason)"
        case .server(let message): "Redis refused the command: \(message)"
        case .protocolViolation(let error): "Redis sent bytes that are not RESP2: \(error)"
        case .authenticationFailed(let message): "Redis refused the password: \(message)"
        case .unavailable(let lastError, let retryIn):
            "Redis is unavailable (\(lastError)); next connection attempt in \(Self.milliseconds(retryIn)) ms"
        case .unexpectedReply(let command, let reply): "unexpected reply to \(command): \(reply)"
        case .closed: "the Redis client is closed"
        case .invalidURL(let reason): "invalid Redis URL: \(reason)"
        }
    }

    /// True when the failure is the link (not the command): the connection is dropped and retried later.
    public var isConnectionFailure: Bool {
        switch self {
        case .connectFailed, .timeout, .connectionLost, .protocolViolation, .unavailable, .closed: true
        case .server(let message): message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN")
        case .authenticationFailed, .unexpectedReply, .invalidURL: false
        }
    }

    /// Whole milliseconds of `duration` (for command arguments and messages).
    public static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
