/// Who may open a WebSocket: an `Origin` allowlist and an optional bearer token.
public struct WebSocketHandshakePolicy: Sendable, Equatable {
    /// Allowed `Origin` values (e.g. `http://localhost:8765`); empty or containing `*` allows any.
    /// Requests without an `Origin` header (non-browser clients) are allowed.
    public var allowedOrigins: [String]
    /// The token clients must present (`Authorization: Bearer …` or `?token=…`); nil disables authentication.
    public var bearerToken: String?

    public init(allowedOrigins: [String] = [], bearerToken: String? = nil) {
        self.allowedOrigins = allowedOrigins
        self.bearerToken = bearerToken
    }
}

/// The outcome of checking an upgrade request.
public enum UpgradeDecision: Sendable {
    /// Upgrade with this `Sec-WebSocket-Accept` value; the raw `Sec-WebSocket-Extensions` values are passed on for negotiation.
    case accept(acceptKey: String, extensionOffers: [String])
    /// Answer with this response and close.
    case reject(HTTPResponse)
}

/// The server side of the RFC 6455 §4.2 opening handshake.
public enum UpgradeHandshake {
    /// RFC 6455 §1.3: base64(SHA-1(key + GUID)).
    public static func acceptKey(for clientKey: String) -> String {
        Base64.encode(SHA1.hash(Array((clientKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
    }

    /// Whether the request asks for a WebSocket (otherwise it is plain HTTP). Other upgrades, such as
    /// `Upgrade: h2c` sent by `curl --http2`, are served as plain HTTP.
    public static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.hasToken("websocket", inHeader: "upgrade") || head.header("sec-websocket-key") != nil
    }

    /// Checks, in order: method GET (405), `Upgrade: websocket` and `Connection: upgrade` (400),
    /// `Sec-WebSocket-Version: 13` (426, naming the supported version), a key that is base64 of 16 bytes (400),
    /// the Origin allowlist (403), then the bearer token (401).
    public static func evaluate(_ head: HTTPRequestHead, policy: WebSocketHandshakePolicy) -> UpgradeDecision {
        guard head.method == "GET" else {
            return .reject(.methodNotAllowed("WebSocket upgrade requires GET, got \(head.method)"))
        }
        guard head.hasToken("websocket", inHeader: "upgrade") else {
            return .reject(.badRequest("missing 'Upgrade: websocket' header"))
        }
        guard head.hasToken("upgrade", inHeader: "connection") else {
            return .reject(.badRequest("missing 'Connection: Upgrade' header"))
        }
        // RFC 6455 §4.2.2: answer an unsupported version with 426 and the versions we speak.
        guard let version = head.header("sec-websocket-version") else {
            return .reject(.upgradeRequired("missing Sec-WebSocket-Version header (supported: 13)"))
        }
        guard version == "13" else {
            return .reject(.upgradeRequired("unsupported Sec-WebSocket-Version \(version) (supported: 13)"))
        }
        guard let key = head.header("sec-websocket-key") else {
            return .reject(.badRequest("missing Sec-WebSocket-Key header"))
        }
        guard let decoded = Base64.decode(key), decoded.count == 16 else {
            return .reject(.badRequest("invalid Sec-WebSocket-Key: must be base64 of 16 bytes"))
        }
        if let origin = head.header("origin"), !policy.allowedOrigins.isEmpty, !policy.allowedOrigins.contains("*"),
            !policy.allowedOrigins.contains(where: { Self.sameOrigin($0, origin) })
        {
            return .reject(.forbidden("origin \(origin) is not allowed"))
        }
        if let expected = policy.bearerToken {
            let presented = bearerToken(in: head)
            guard let presented else {
                return .reject(.unauthorized("missing bearer token (Authorization: Bearer … or ?token=…)"))
            }
            guard constantTimeEquals(presented, expected) else {
                return .reject(.unauthorized("invalid bearer token"))
            }
        }
        return .accept(acceptKey: acceptKey(for: key), extensionOffers: head.headerValues("sec-websocket-extensions"))
    }

    /// Origins compare case-insensitively, ignoring a trailing "/" (RFC 6454 §6.2 serialization).
    static func sameOrigin(_ allowed: String, _ presented: String) -> Bool {
        func normalized(_ text: String) -> String {
            var text = text.lowercased()
            while text.hasSuffix("/") { text.removeLast() }
            return text
        }
        return normalized(allowed) == normalized(presented)
    }

    private static func bearerToken(in head: HTTPRequestHead) -> String? {
        if let authorization = head.header("authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1].trimmingSpaces) }
        }
        return head.query["token"]
    }

    /// Compares without an early exit, so timing does not reveal how much of a token matched.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
