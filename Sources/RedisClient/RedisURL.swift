/// Where and how to connect: `redis://[[user]:password@]host[:port][/db]`.
///
/// The password may instead come from an environment variable (``RedisEndpoint/init(url:passwordEnvironment:environment:)``),
/// so it need not sit in a config file. Percent-escapes in user and password are decoded.
public struct RedisEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    public var password: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// `host:port` for messages (never the password).
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a `redis://` URL.
    /// - Parameters:
    ///   - passwordEnvironment: a variable whose value, when set and non-empty, is the password (it wins over
    ///     one in the URL).
    /// - Throws: ``RedisError/invalidURL(_:)`` saying what is wrong.
    public init(url: String, passwordEnvironment: String? = nil, environment: [String: String] = [:]) throws(RedisError) {
        guard url.hasPrefix("redis://") else {
            throw .invalidURL("\"\(url.prefix(80))\" must start with redis:// (rediss:// TLS is not supported)")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = String(credentials[..<colon])
                username = user.isEmpty ? nil : try Self.unescape(user)
                password = try Self.unescape(String(credentials[credentials.index(after: colon)...]))
            } else {
                password = try Self.unescape(String(credentials))
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw .invalidURL("database \"\(path.prefix(20))\" must be a number ≥ 0 (redis://host:port/0)")
                }
                database = number
            }
        }
        var host = String(rest)
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalidURL("IPv6 host without ]") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw .invalidURL("port \"\(after.dropFirst().prefix(10))\" must be 1–65535")
                }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            let text = rest[rest.index(after: colon)...]
            guard let number = Int(text), (1...65535).contains(number) else {
                throw .invalidURL("port \"\(text.prefix(10))\" must be 1–65535")
            }
            port = number
        }
        guard !host.isEmpty else { throw .invalidURL("no host (redis://host:port)") }
        if let passwordEnvironment, let value = environment[passwordEnvironment], !value.isEmpty {
            password = value
        }
        self.init(host: host, port: port, database: database, username: username, password: password)
    }

    private static func unescape(_ text: String) throws(RedisError) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { throw .invalidURL("bad percent-escape in the credentials") }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
