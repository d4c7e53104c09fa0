import Foundation
import Testing
@testable import RouterCore

@Suite("ClientHandshake")
struct ClientHandshakeTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    private func parseRequest(_ bytes: [UInt8]) throws -> HTTPRequestHead {
        let parsed = try #require(HTTPTestSupport.parse(bytes).httpValue.flatMap { $0 })
        #expect(parsed.consumed == bytes.count)
        return parsed.head
    }

    private func responseHead(_ text: String) throws -> HTTPResponseHead {
        var parser = HTTPResponseHeadParser()
        return try #require(HTTPTestSupport.parseResponse(&parser, Array(text.utf8)[...]).httpValue.flatMap { $0 }).head
    }

    private func validationError(_ text: String, key: String = key) throws -> String? {
        let head = try responseHead(text)
        do throws(ClientHandshakeError) {
            _ = try ClientHandshake.validate(head, key: key)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func requestParsesBackAndIsAccepted() throws {
        let bytes = ClientHandshake.request(host: "example.com", port: 8080, path: "/ws/memory?x=1", key: Self.key)
        let head = try parseRequest(bytes)
        #expect(head.method == "GET")
        #expect(head.path == "/ws/memory")
        #expect(head.query == ["x": "1"])
        #expect(head.header("host") == "example.com:8080")
        #expect(head.header("sec-websocket-key") == Self.key)
        guard case .accept(let acceptKey, let offers) = UpgradeHandshake.evaluate(head, policy: .init()) else {
            Issue.record("the server rejected the client's request")
            return
        }
        #expect(acceptKey == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(offers.isEmpty)
    }

    @Test func extraHeadersReachTheServerPolicy() throws {
        let bytes = ClientHandshake.request(
            host: "h", port: 1, path: "/", key: Self.key,
            extraHeaders: [("Origin", "http://good.example"), ("Authorization", "Bearer t"), ("Sec-WebSocket-Extensions", "permessage-deflate")])
        let head = try parseRequest(bytes)
        let policy = WebSocketHandshakePolicy(allowedOrigins: ["http://good.example"], bearerToken: "t")
        guard case .accept(_, let offers) = UpgradeHandshake.evaluate(head, policy: policy) else {
            Issue.record("rejected")
            return
        }
        #expect(offers == ["permessage-deflate"])
        // And without the token the same policy refuses.
        let bare = try parseRequest(ClientHandshake.request(host: "h", port: 1, path: "/", key: Self.key))
        guard case .reject(let response) = UpgradeHandshake.evaluate(bare, policy: policy) else {
            Issue.record("accepted without a token")
            return
        }
        #expect(response.status == 401)
    }

    @Test func randomKeysAreBase64OfSixteenBytes() {
        let keys = (0..<8).map { _ in ClientHandshake.randomKey() }
        for key in keys {
            #expect(key.utf8.count == 24)
            #expect(Base64.decode(key)?.count == 16)
        }
        #expect(Set(keys).count == keys.count)
    }

    @Test func fullRoundTripThroughTheServerResponse() throws {
        let key = ClientHandshake.randomKey()
        let head = try parseRequest(ClientHandshake.request(host: "h", port: 2, path: "/ws", key: key))
        guard case .accept(let acceptKey, _) = UpgradeHandshake.evaluate(head, policy: .init()) else {
            Issue.record("rejected")
            return
        }
        let bytes = HTTPResponse.switchingProtocols(acceptKey: acceptKey, extensions: "permessage-deflate").serialized()
        var parser = HTTPResponseHeadParser()
        let parsed = try #require(HTTPTestSupport.parseResponse(&parser, bytes[...]).httpValue.flatMap { $0 })
        #expect(parsed.consumed == bytes.count)
        #expect(try ClientHandshake.validate(parsed.head, key: key) == ["permessage-deflate"])
    }

    static let good =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

    @Test func validAnswer() throws {
        #expect(try validationError(Self.good) == nil)
        #expect(try ClientHandshake.validate(try responseHead(Self.good), key: Self.key).isEmpty)
        let caseInsensitive = Self.good.replacingOccurrences(of: "Upgrade: websocket", with: "upgrade: WebSocket")
            .replacingOccurrences(of: "Connection: Upgrade", with: "connection: keep-alive, upgrade")
        #expect(try validationError(caseInsensitive) == nil)
    }

    @Test func rejectsAWrongAcceptKey() throws {
        #expect(try validationError(Self.good, key: "AQIDBAUGBwgJCgsMDQ4PEA==") == "wrong Sec-WebSocket-Accept")
        let missing = Self.good.replacingOccurrences(of: "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", with: "")
        #expect(try validationError(missing) == "wrong Sec-WebSocket-Accept")
    }

    @Test func rejectsNon101() throws {
        let ok = Self.good.replacingOccurrences(of: "101 Switching Protocols", with: "200 OK")
        #expect(try validationError(ok) == "expected status 101, got 200")
        #expect(try validationError("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n") == "expected status 101, got 403")
    }

    @Test func rejectsMissingUpgradeOrConnection() throws {
        let noUpgrade = Self.good.replacingOccurrences(of: "Upgrade: websocket\r\n", with: "")
        #expect(try validationError(noUpgrade) == "missing 'Upgrade: websocket' in the response")
        let wrongUpgrade = Self.good.replacingOccurrences(of: "Upgrade: websocket", with: "Upgrade: h2c")
        #expect(try validationError(wrongUpgrade) == "missing 'Upgrade: websocket' in the response")
        let noConnection = Self.good.replacingOccurrences(of: "Connection: Upgrade\r\n", with: "")
        #expect(try validationError(noConnection) == "missing 'Connection: Upgrade' in the response")
    }
}
