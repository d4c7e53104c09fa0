/// One RESP2 reply (https://redis.io/docs/reference/protocol-spec/).
///
/// An error reply (`-ERR …`) is a value, not a thrown error: inside a pipeline or a transaction one command
/// may fail while the others succeed. ``RedisConnection`` callers turn it into ``RedisError/server(_:)``
/// where a single answer is expected (``RESPValue/checked()``).
public enum RESPValue: Sendable, Equatable {
    /// `+OK`
    case simple(String)
    /// `-ERR message`: the server refused the command.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5\r\nhello`: binary-safe bytes.
    case bulk([UInt8])
    /// `$-1` or `*-1`: no value (a missing key, an `XREAD BLOCK` that timed out).
    case null
    /// `*N` followed by N values.
    case array([RESPValue])

    /// The value, or ``RedisError/server(_:)`` if it is an error reply.
    public func checked() throws(RedisError) -> RESPValue {
        if case .error(let message) = self { throw .server(message) }
        return self
    }

    /// The text of a simple or bulk string (bulk bytes decoded as UTF-8), else nil.
    public var string: String? {
        switch self {
        case .simple(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk or simple string, else nil.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): bytes
        case .simple(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The integer of an integer reply (or a bulk string holding digits), else nil.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk, .simple: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array reply, else nil.
    public var array: [RESPValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// True for `$-1` / `*-1`.
    public var isNull: Bool { self == .null }
}

extension RESPValue: CustomStringConvertible {
    /// A short, printable rendering for logs and error messages (bulk strings cut at 64 bytes).
    public var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes):
            bytes.count > 64 ? "$\(bytes.count) bytes" : "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .null: "(nil)"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
