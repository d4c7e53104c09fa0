import Testing
@testable import RouterCore

@Suite("HTTPResponse")
struct HTTPResponseTests {
    private func wire(_ response: HTTPResponse) -> String { String(decoding: response.serialized(), as: UTF8.self) }

    @Test func errorResponseBytes() {
        #expect(
            wire(.badRequest("bad"))
                == "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbad\n")
    }

    @Test func switchingProtocolsHasNoContentLength() {
        #expect(
            wire(.switchingProtocols(acceptKey: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
                == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    }

    @Test func switchingProtocolsWithExtensions() {
        let response = HTTPResponse.switchingProtocols(acceptKey: "k", extensions: "permessage-deflate; server_no_context_takeover")
        let text = wire(response)
        #expect(text.hasSuffix("Sec-WebSocket-Accept: k\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"))
        #expect(!text.lowercased().contains("content-length"))
    }

    @Test func contentLengthCountsBytesNotCharacters() {
        let response = HTTPResponse.ok(Array("✓\r\n".utf8) + [0xFF], contentType: "application/octet-stream")
        let bytes = response.serialized()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\nContent-Length: 6\r\n\r\n"))
        #expect(Array(bytes.suffix(6)) == Array("✓\r\n".utf8) + [0xFF])
    }

    @Test func emptyBodyStillHasContentLength() {
        #expect(wire(HTTPResponse(status: 200)) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func explicitContentLengthIsNotDuplicated() {
        let response = HTTPResponse(status: 200, headers: [("content-length", "3")], body: Array("abc".utf8))
        #expect(wire(response) == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc")
    }

    @Test func reasonPhrases() {
        #expect(wire(HTTPResponse(status: 299)).hasPrefix("HTTP/1.1 299 Status 299\r\n"))
        #expect(wire(HTTPResponse(status: 200, reason: "Fine")).hasPrefix("HTTP/1.1 200 Fine\r\n"))
        let expected = [
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 426: "Upgrade Required", 431: "Request Header Fields Too Large", 503: "Service Unavailable",
            505: "HTTP Version Not Supported",
        ]
        for (status, reason) in expected {
            #expect(wire(HTTPResponse(status: status)).hasPrefix("HTTP/1.1 \(status) \(reason)\r\n"))
        }
    }

    @Test func convenienceResponsesCarryTheirHeaders() {
        #expect(HTTPResponse.methodNotAllowed("m").header("allow") == "GET")
        #expect(HTTPResponse.unauthorized("u").header("www-authenticate") == "Bearer")
        #expect(HTTPResponse.upgradeRequired("v").header("sec-websocket-version") == "13")
        #expect(HTTPResponse.requestTimeout().status == 408)
        #expect(HTTPResponse.notFound("n").status == 404)
        #expect(HTTPResponse.forbidden("f").status == 403)
        #expect(HTTPResponse.serviceUnavailable("s").status == 503)
        let json = HTTPResponse.json(status: 201, "{}")
        #expect(wire(json) == "HTTP/1.1 201 Status 201\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func headerLookupIsCaseInsensitive() {
        let response = HTTPResponse(status: 200, headers: [("X-A", "1"), ("x-a", "2")])
        #expect(response.header("x-A") == "1")
        #expect(response.header("missing") == nil)
    }

    @Test func equality() {
        #expect(HTTPResponse.badRequest("x") == HTTPResponse.badRequest("x"))
        #expect(HTTPResponse.badRequest("x") != HTTPResponse.badRequest("y"))
        #expect(HTTPResponse(status: 200, headers: [("A", "1"), ("B", "2")]) != HTTPResponse(status: 200, headers: [("B", "2"), ("A", "1")]))
        #expect(HTTPResponse(status: 200, headers: [("A", "1")]) != HTTPResponse(status: 200, headers: [("A", "2")]))
        #expect(HTTPResponse(status: 200, reason: "A") != HTTPResponse(status: 200, reason: "B"))
    }

    @Test func serializedResponseParsesBack() throws {
        let bytes = HTTPResponse.forbidden("origin http://x is not allowed").serialized()
        var parser = HTTPResponseHeadParser()
        let parsed = try #require(HTTPTestSupport.parseResponse(&parser, bytes[...]).httpValue.flatMap { $0 })
        #expect(parsed.head.status == 403)
        #expect(parsed.head.reason == "Forbidden")
        #expect(Int(try #require(parsed.head.header("content-length"))) == bytes.count - parsed.consumed)
        #expect(String(decoding: bytes[parsed.consumed...], as: UTF8.self) == "origin http://x is not allowed\n")
    }
}
