import Foundation
import Testing
@testable import RouterCore

/// A valid RFC 6455 §1.2 upgrade request, with fields removed, replaced or added.
struct UpgradeRequestBuilder: Sendable {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let acceptKey = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    var method = "GET"
    var target = "/chat"
    var headers: [(name: String, value: String)] = [
        ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", Self.key), ("Sec-WebSocket-Version", "13"),
    ]

    func without(_ name: String) -> Self {
        var copy = self
        copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        return copy
    }

    func setting(_ name: String, _ value: String) -> Self {
        without(name).adding(name, value)
    }

    func adding(_ name: String, _ value: String) -> Self {
        var copy = self
        copy.headers.append((name, value))
        return copy
    }

    func with(method: String? = nil, target: String? = nil) -> Self {
        var copy = self
        if let method { copy.method = method }
        if let target { copy.target = target }
        return copy
    }

    var head: HTTPRequestHead { HTTPRequestHead(method: method, target: target, headers: headers) }
}

struct RejectionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let request: UpgradeRequestBuilder
    let policy: WebSocketHandshakePolicy
    let status: Int
    let message: String
    let extraHeader: (name: String, value: String)?

    init(_ name: String, _ request: UpgradeRequestBuilder, policy: WebSocketHandshakePolicy = .init(), status: Int, _ message: String, header: (name: String, value: String)? = nil) {
        self.name = name
        self.request = request
        self.policy = policy
        self.status = status
        self.message = message
        self.extraHeader = header
    }

    var testDescription: String { name }
}

@Suite("UpgradeHandshake")
struct UpgradeHandshakeTests {
    static let base = UpgradeRequestBuilder()
    static let tokenPolicy = WebSocketHandshakePolicy(bearerToken: "s3cret")
    static let originPolicy = WebSocketHandshakePolicy(allowedOrigins: ["http://good.example", "https://also.example"])

    static let rejections: [RejectionCase] = [
        RejectionCase("POST", base.with(method: "POST"), status: 405, "WebSocket upgrade requires GET, got POST", header: ("Allow", "GET")),
        RejectionCase("lower-case get", base.with(method: "get"), status: 405, "WebSocket upgrade requires GET, got get", header: ("Allow", "GET")),
        RejectionCase("method checked first", UpgradeRequestBuilder(method: "PUT", headers: []), status: 405, "WebSocket upgrade requires GET, got PUT"),
        RejectionCase("no Upgrade", base.without("Upgrade"), status: 400, "missing 'Upgrade: websocket' header"),
        RejectionCase("Upgrade: h2c", base.setting("Upgrade", "h2c"), status: 400, "missing 'Upgrade: websocket' header"),
        RejectionCase("no Connection", base.without("Connection"), status: 400, "missing 'Connection: Upgrade' header"),
        RejectionCase("Connection: keep-alive", base.setting("Connection", "keep-alive"), status: 400, "missing 'Connection: Upgrade' header"),
        RejectionCase(
            "no version", base.without("Sec-WebSocket-Version"), status: 426, "missing Sec-WebSocket-Version header (supported: 13)",
            header: ("Sec-WebSocket-Version", "13")),
        RejectionCase(
            "version 8", base.setting("Sec-WebSocket-Version", "8"), status: 426, "unsupported Sec-WebSocket-Version 8 (supported: 13)",
            header: ("Sec-WebSocket-Version", "13")),
        RejectionCase(
            "version list", base.setting("Sec-WebSocket-Version", "13, 8"), status: 426,
            "unsupported Sec-WebSocket-Version 13, 8 (supported: 13)", header: ("Sec-WebSocket-Version", "13")),
        RejectionCase("no key", base.without("Sec-WebSocket-Key"), status: 400, "missing Sec-WebSocket-Key header"),
        RejectionCase(
            "key not base64", base.setting("Sec-WebSocket-Key", "not base64 at all!!!!!!!"), status: 400,
            "invalid Sec-WebSocket-Key: must be base64 of 16 bytes"),
        RejectionCase(
            "key of 15 bytes", base.setting("Sec-WebSocket-Key", Base64.encode([UInt8](repeating: 7, count: 15))), status: 400,
            "invalid Sec-WebSocket-Key: must be base64 of 16 bytes"),
        RejectionCase(
            "key of 17 bytes", base.setting("Sec-WebSocket-Key", Base64.encode([UInt8](repeating: 7, count: 17))), status: 400,
            "invalid Sec-WebSocket-Key: must be base64 of 16 bytes"),
        RejectionCase("empty key", base.setting("Sec-WebSocket-Key", ""), status: 400, "invalid Sec-WebSocket-Key: must be base64 of 16 bytes"),
        RejectionCase(
            "origin not allowed", base.adding("Origin", "http://evil.example"), policy: originPolicy, status: 403,
            "origin http://evil.example is not allowed (not this server's origin, nor listed in server.allowedOrigins)"),
        RejectionCase(
            "origin is matched exactly", base.adding("Origin", "http://good.example:80"), policy: originPolicy, status: 403,
            "origin http://good.example:80 is not allowed (not this server's origin, nor listed in server.allowedOrigins)"),
        RejectionCase(
            "origin before token", base.adding("Origin", "http://evil.example"),
            policy: WebSocketHandshakePolicy(allowedOrigins: ["http://good.example"], bearerToken: "s3cret"), status: 403,
            "origin http://evil.example is not allowed (not this server's origin, nor listed in server.allowedOrigins)"),
        RejectionCase(
            "no token", base, policy: tokenPolicy, status: 401, "missing bearer token (Authorization: Bearer … or ?token=…)",
            header: ("WWW-Authenticate", "Bearer")),
        RejectionCase(
            "Basic is not a bearer token", base.adding("Authorization", "Basic czNjcmV0"), policy: tokenPolicy, status: 401,
            "missing bearer token (Authorization: Bearer … or ?token=…)", header: ("WWW-Authenticate", "Bearer")),
        RejectionCase(
            "wrong header token", base.adding("Authorization", "Bearer s3cres"), policy: tokenPolicy, status: 401, "invalid bearer token",
            header: ("WWW-Authenticate", "Bearer")),
        RejectionCase(
            "token prefix", base.adding("Authorization", "Bearer s3c"), policy: tokenPolicy, status: 401, "invalid bearer token"),
        RejectionCase(
            "token with extra", base.adding("Authorization", "Bearer s3cret2"), policy: tokenPolicy, status: 401, "invalid bearer token"),
        RejectionCase("wrong query token", base.with(target: "/chat?token=nope"), policy: tokenPolicy, status: 401, "invalid bearer token"),
        RejectionCase("empty query token", base.with(target: "/chat?token="), policy: tokenPolicy, status: 401, "invalid bearer token"),
    ]

    @Test(arguments: rejections)
    func rejection(_ rejection: RejectionCase) throws {
        guard case .reject(let response) = UpgradeHandshake.evaluate(rejection.request.head, policy: rejection.policy) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(response.status == rejection.status)
        #expect(String(decoding: response.body, as: UTF8.self) == rejection.message + "\n", "the body says why")
        #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(response.header("Connection") == "close")
        if let header = rejection.extraHeader {
            #expect(response.header(header.name) == header.value)
        }
        // And it is what goes on the wire.
        let wire = String(decoding: response.serialized(), as: UTF8.self)
        #expect(wire.hasPrefix("HTTP/1.1 \(rejection.status) "))
        #expect(wire.hasSuffix("\r\n\r\n" + rejection.message + "\n"))
    }

    private func accepted(_ request: UpgradeRequestBuilder, policy: WebSocketHandshakePolicy = .init(), sourceLocation: SourceLocation = #_sourceLocation) -> (acceptKey: String, extensionOffers: [String])? {
        switch UpgradeHandshake.evaluate(request.head, policy: policy) {
        case .accept(let acceptKey, let extensionOffers):
            return (acceptKey, extensionOffers)
        case .reject(let response):
            Issue.record("rejected with \(response.status): \(String(decoding: response.body, as: UTF8.self))", sourceLocation: sourceLocation)
            return nil
        }
    }

    // MARK: Accepted

    @Test func rfcRequestIsAcceptedWithTheRFCKey() throws {
        let result = try #require(accepted(Self.base))
        #expect(result.acceptKey == UpgradeRequestBuilder.acceptKey)
        #expect(result.extensionOffers.isEmpty)
    }

    @Test func acceptKeyFollowsTheClientKey() throws {
        let key = Data(HTTPTestSupport.bytes(count: 16, seed: 99)).base64EncodedString()
        let result = try #require(accepted(Self.base.setting("Sec-WebSocket-Key", key)))
        #expect(result.acceptKey == (try HTTPTestSupport.referenceAcceptKey(key)))
        #expect(result.acceptKey != UpgradeRequestBuilder.acceptKey)
    }

    @Test func extensionOffersArePassedThroughInOrder() throws {
        let request = Self.base
            .adding("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
            .adding("X-Other", "x")
            .adding("sec-websocket-extensions", "x-webkit-deflate-frame, foo")
        let result = try #require(accepted(request))
        #expect(result.extensionOffers == ["permessage-deflate; client_max_window_bits", "x-webkit-deflate-frame, foo"])
    }

    @Test func headerTokensAreCaseInsensitiveAndListed() throws {
        let request = Self.base.setting("Upgrade", "WebSocket").setting("Connection", "keep-alive, Upgrade")
        #expect(try #require(accepted(request)).acceptKey == UpgradeRequestBuilder.acceptKey)
    }

    @Test func parsedRequestIsAccepted() throws {
        let parsed = try #require(HTTPTestSupport.parse(HTTPHeadParserTests.rfcRequest).httpValue.flatMap { $0 })
        // The RFC's example comes from a page on another origin (http://example.com), so it must be listed.
        let policy = WebSocketHandshakePolicy(allowedOrigins: ["http://example.com"])
        guard case .accept(let key, _) = UpgradeHandshake.evaluate(parsed.head, policy: policy) else {
            Issue.record("rejected")
            return
        }
        #expect(key == UpgradeRequestBuilder.acceptKey)
    }

    @Test func tokenViaAuthorizationHeader() {
        #expect(accepted(Self.base.adding("Authorization", "Bearer s3cret"), policy: Self.tokenPolicy) != nil)
        #expect(accepted(Self.base.adding("authorization", "bearer s3cret"), policy: Self.tokenPolicy) != nil)
        #expect(accepted(Self.base.adding("Authorization", "Bearer   s3cret"), policy: Self.tokenPolicy) != nil)
    }

    @Test func tokenViaQuery() {
        #expect(accepted(Self.base.with(target: "/chat?token=s3cret"), policy: Self.tokenPolicy) != nil)
        #expect(accepted(Self.base.with(target: "/chat?a=1&token=s3cret&b=2"), policy: Self.tokenPolicy) != nil)
        // Percent-decoded, `+` as space.
        let spaced = WebSocketHandshakePolicy(bearerToken: "a b+c/")
        #expect(accepted(Self.base.with(target: "/chat?token=a+b%2Bc%2F"), policy: spaced) != nil)
    }

    @Test func nonBearerAuthorizationFallsBackToTheQueryToken() {
        let request = Self.base.with(target: "/chat?token=s3cret").adding("Authorization", "Basic dXNlcjpwYXNz")
        #expect(accepted(request, policy: Self.tokenPolicy) != nil)
    }

    @Test func noTokenNeededWithoutAPolicyToken() {
        #expect(accepted(Self.base.adding("Authorization", "Bearer anything")) != nil)
    }

    @Test func originAllowed() {
        #expect(accepted(Self.base.adding("Origin", "http://good.example"), policy: Self.originPolicy) != nil)
        #expect(accepted(Self.base.adding("Origin", "https://also.example"), policy: Self.originPolicy) != nil)
    }

    @Test func wildcardAllowsAnyOrigin() {
        let wildcard = WebSocketHandshakePolicy(allowedOrigins: ["http://good.example", "*"])
        #expect(accepted(Self.base.adding("Origin", "http://evil.example"), policy: wildcard) != nil)
    }

    private func isAccepted(_ request: UpgradeRequestBuilder, policy: WebSocketHandshakePolicy = .init()) -> Bool {
        if case .accept = UpgradeHandshake.evaluate(request.head, policy: policy) { return true }
        return false
    }

    @Test func theDefaultPolicyIsSameOrigin() {
        let policy = WebSocketHandshakePolicy()
        #expect(!isAccepted(Self.base.adding("Origin", "http://evil.example"), policy: policy))
        // The Host is server.example.com: its own pages may connect, over either scheme, default port or not.
        for origin in ["http://server.example.com", "https://server.example.com", "HTTP://Server.Example.com:80", "http://server.example.com/"] {
            #expect(accepted(Self.base.adding("Origin", origin), policy: policy) != nil, "\(origin)")
        }
        for origin in ["null", "http://server.example.com:8080", "http://evil.server.example.com", "file://", "http://user@server.example.com"] {
            #expect(!isAccepted(Self.base.adding("Origin", origin), policy: policy), "\(origin)")
        }
    }

    @Test(arguments: [
        ("127.0.0.1:8765", "http://127.0.0.1:8765", true),
        ("127.0.0.1:8765", "http://127.0.0.1:8766", false),
        ("127.0.0.1:8765", "http://127.0.0.1", false),
        ("localhost:8765", "http://127.0.0.1:8765", false),
        ("[::1]:8765", "http://[::1]:8765", true),
        ("[::1]:8765", "http://[::1]", false),
        ("example.com:443", "https://example.com", true),
        ("example.com:443", "http://example.com", false),
    ])
    func sameOriginComparesHostAndPort(host: String, origin: String, allowed: Bool) {
        let request = Self.base.setting("Host", host).adding("Origin", origin)
        #expect(isAccepted(request) == allowed, "Host \(host), Origin \(origin)")
    }

    @Test func severalOriginHeadersAreRejected() {
        let request = Self.base.adding("Origin", "http://server.example.com").adding("Origin", "http://server.example.com")
        guard case .reject(let response) = UpgradeHandshake.evaluate(request.head, policy: .init()) else {
            Issue.record("two Origin headers were accepted")
            return
        }
        #expect(response.status == 403)
        #expect(String(decoding: response.body, as: UTF8.self) == "several Origin headers\n")
    }

    @Test func anUpgradeNeedsHTTP11() {
        let head = HTTPRequestHead(method: "GET", target: "/chat", version: "HTTP/1.0", headers: Self.base.headers)
        guard case .reject(let response) = UpgradeHandshake.evaluate(head, policy: .init()) else {
            Issue.record("an HTTP/1.0 upgrade was accepted")
            return
        }
        #expect(response.status == 400)
    }

    @Test func noOriginHeaderIsAllowedEvenWithAnAllowlist() {
        #expect(accepted(Self.base, policy: Self.originPolicy) != nil)
    }

    @Test func originAndTokenTogether() {
        let policy = WebSocketHandshakePolicy(allowedOrigins: ["http://good.example"], bearerToken: "s3cret")
        let request = Self.base.adding("Origin", "http://good.example").adding("Authorization", "Bearer s3cret")
        #expect(accepted(request, policy: policy) != nil)
    }

    // MARK: Helpers

    @Test func isWebSocketUpgrade() {
        #expect(UpgradeHandshake.isWebSocketUpgrade(Self.base.head))
        #expect(UpgradeHandshake.isWebSocketUpgrade(UpgradeRequestBuilder(headers: [("Sec-WebSocket-Key", "k")]).head))
        // Other upgrades (curl --http2 sends `Upgrade: h2c`) are plain HTTP requests.
        #expect(!UpgradeHandshake.isWebSocketUpgrade(UpgradeRequestBuilder(headers: [("Upgrade", "h2c")]).head))
        #expect(!UpgradeHandshake.isWebSocketUpgrade(UpgradeRequestBuilder(headers: [("Host", "x"), ("Connection", "Upgrade")]).head))
    }

    @Test func constantTimeEquals() {
        #expect(UpgradeHandshake.constantTimeEquals("", ""))
        #expect(UpgradeHandshake.constantTimeEquals("s3cret", "s3cret"))
        #expect(!UpgradeHandshake.constantTimeEquals("s3cret", "s3cres"))
        #expect(!UpgradeHandshake.constantTimeEquals("s3cret", "s3cre"))
        #expect(!UpgradeHandshake.constantTimeEquals("s3cre", "s3cret"))
        #expect(!UpgradeHandshake.constantTimeEquals("a", "a\0"))
        #expect(!UpgradeHandshake.constantTimeEquals("", "x"))
    }
}
