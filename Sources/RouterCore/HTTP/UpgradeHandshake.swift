/// Who may open a WebSocket: the origin policy and an optional bearer token.
///
/// Browsers send `Origin` on every WebSocket handshake, and WebSockets are not bound by CORS: without a
/// check, any page the user visits could open a connection to a local server with the user's access.
/// So by default only the server's own pages may connect: the `Origin` must name the host and port the
/// request came to (its `Host`). Requests without `Origin` come from non-browser clients and are allowed.
package struct WebSocketHandshakePolicy: Sendable, Equatable {
    /// Further allowed `Origin` values (e.g. `https://app.example`), compared case-insensitively and
    /// exactly otherwise; `"*"` allows every origin (an explicit opt-out, worth a warning at startup).
    package var allowedOrigins: [String]
    /// The token clients must present (`Authorization: Bearer …` or `?token=…`); nil disables authentication.
    package var bearerToken: String?

    package init(allowedOrigins: [String] = [], bearerToken: String? = nil) {
        self.allowedOrigins = allowedOrigins
        self.bearerToken = bearerToken
    }

    /// Whether `"*"` turned the origin check off.
    package var allowsAnyOrigin: Bool { allowedOrigins.contains("*") }

    /// Why an `Origin` is refused, or nil when it may connect to a server reached as `host`.
    func originRejection(_ origin: String, host: String?) -> String? {
        if allowsAnyOrigin { return nil }
        if let host, OriginMatching.isSameOrigin(origin, host: host) { return nil }
        if allowedOrigins.contains(where: { UpgradeHandshake.sameOrigin($0, origin) }) { return nil }
        return "origin \(origin) is not allowed (not this server's origin, nor listed in server.allowedOrigins)"
    }
}

/// Compares a browser's `Origin` (`scheme://host[:port]`) with the `Host` a request was sent to
/// (`host[:port]`), without the scheme: behind a TLS-terminating proxy the server sees `http` while the
/// page is `https`. A missing port is the scheme's default (80 for http/ws, 443 for https/wss).
enum OriginMatching {
    static func isSameOrigin(_ origin: String, host: String) -> Bool {
        let origin = origin.lowercased()
        guard let schemeEnd = origin.firstRange(of: "://") else { return false }  // e.g. "null"
        let scheme = String(origin[..<schemeEnd.lowerBound])
        var authority = String(origin[schemeEnd.upperBound...])
        while authority.hasSuffix("/") { authority.removeLast() }
        let defaultPort: Int
        switch scheme {
        case "http", "ws": defaultPort = 80
        case "https", "wss": defaultPort = 443
        default: return false
        }
        guard let (originHost, originPort) = split(authority, defaultPort: defaultPort),
            let (requestHost, requestPort) = split(host.lowercased(), defaultPort: defaultPort)
        else { return false }
        return originHost == requestHost && originPort == requestPort
    }

    /// `host[:port]` or `[v6][:port]` → (host, port); nil when malformed (userinfo, paths, bad ports).
    static func split(_ authority: String, defaultPort: Int) -> (String, Int)? {
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains("/") else { return nil }
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[...close])
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return (host, defaultPort) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText),
            port <= 65535
        else { return nil }
        return (host, port)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// The outcome of checking an upgrade request.
enum UpgradeDecision: Sendable {
    /// Upgrade with this `Sec-WebSocket-Accept` value; the raw `Sec-WebSocket-Extensions` values are passed on for negotiation.
    case accept(acceptKey: String, extensionOffers: [String])
    /// Answer with this response and close.
    case reject(HTTPResponse)
}

/// The server side of the RFC 6455 §4.2 opening handshake.
enum UpgradeHandshake {
    /// RFC 6455 §1.3: base64(SHA-1(key + GUID)).
    static func acceptKey(for clientKey: String) -> String {
        Base64.encode(SHA1.hash(Array((clientKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
    }

    /// Whether the request asks for a WebSocket (otherwise it is plain HTTP). Other upgrades, such as
    /// `Upgrade: h2c` sent by `curl --http2`, are served as plain HTTP.
    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.hasToken("websocket", inHeader: "upgrade") || head.header("sec-websocket-key") != nil
    }

    /// Checks, in order: method GET (405), HTTP/1.1 (400), `Upgrade: websocket` and `Connection: upgrade` (400),
    /// `Sec-WebSocket-Version: 13` (426, naming the supported version), a key that is base64 of 16 bytes (400),
    /// at most one `Host` (400), the origin (403: several `Origin` headers, or one the policy refuses), then
    /// the bearer token (401).
    static func evaluate(_ head: HTTPRequestHead, policy: WebSocketHandshakePolicy) -> UpgradeDecision {
        guard head.method == "GET" else {
            return .reject(.methodNotAllowed("WebSocket upgrade requires GET, got \(head.method)"))
        }
        // RFC 6455 §4.1: the handshake is an HTTP/1.1 (or later) request.
        guard head.version == "HTTP/1.1" else {
            return .reject(.badRequest("WebSocket upgrade requires HTTP/1.1, got \(head.version)"))
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
        let hosts = head.headerValues("host")
        // RFC 9112 §3.2: several Host fields make the request invalid.
        guard hosts.count <= 1 else { return .reject(.badRequest("several Host headers")) }
        let origins = head.headerValues("origin")
        // One origin per request (RFC 6454 §7): which of several would be the page's is anyone's guess.
        guard origins.count <= 1 else { return .reject(.forbidden("several Origin headers")) }
        if let origin = origins.first, let reason = policy.originRejection(origin, host: hosts.first) {
            return .reject(.forbidden(reason))
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

    /// Whether `head` presents `expected` as its bearer token (`Authorization: Bearer …` or `?token=…`).
    static func presentsToken(_ head: HTTPRequestHead, _ expected: String) -> Bool {
        guard let presented = bearerToken(in: head) else { return false }
        return constantTimeEquals(presented, expected)
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
