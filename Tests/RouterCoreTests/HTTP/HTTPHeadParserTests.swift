import Testing
@testable import RouterCore

@Suite("HTTPHeadParser")
struct HTTPHeadParserTests {
    /// The client handshake from RFC 6455 §1.2.
    static let rfcRequest =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n"
        + "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"
    /// A masked text frame "Hello" (RFC 6455 §5.7), as would follow the head on the same connection.
    static let frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]

    private func expectRFCHead(_ head: HTTPRequestHead) {
        #expect(head.method == "GET")
        #expect(head.target == "/chat")
        #expect(head.path == "/chat")
        #expect(head.query.isEmpty)
        #expect(head.version == "HTTP/1.1")
        #expect(head.headers.map(\.name) == [
            "host", "upgrade", "connection", "sec-websocket-key", "origin", "sec-websocket-protocol", "sec-websocket-version",
        ])
        #expect(head.header("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(head.header("sec-websocket-protocol") == "chat, superchat")
    }

    private func expectError(_ text: String, parser: HTTPHeadParser = HTTPHeadParser(), status: Int, message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = HTTPTestSupport.parse(text, parser: parser).httpError
        #expect(error == HTTPParseError(status: status, message: message), sourceLocation: sourceLocation)
    }

    // MARK: Feeding

    @Test func wholeHead() throws {
        let bytes = Array(Self.rfcRequest.utf8)
        let parsed = try #require(HTTPTestSupport.parse(bytes).httpValue.flatMap { $0 })
        #expect(parsed.consumed == bytes.count)
        expectRFCHead(parsed.head)
    }

    @Test func oneByteAtATimeWithTheSameParser() throws {
        let bytes = Array(Self.rfcRequest.utf8)
        var parser = HTTPHeadParser()
        for count in 1..<bytes.count {
            let result = HTTPTestSupport.feed(&parser, bytes[0..<count])
            let value = try #require(result.httpValue, "prefix \(count) threw \(String(describing: result.httpError))")
            #expect(value == nil, "prefix \(count) of \(bytes.count) must need more")
        }
        let parsed = try #require(HTTPTestSupport.feed(&parser, bytes[...]).httpValue.flatMap { $0 })
        #expect(parsed.consumed == bytes.count)
        expectRFCHead(parsed.head)
    }

    @Test func everyTwoChunkSplit() throws {
        let bytes = Array(Self.rfcRequest.utf8)
        for split in 1..<bytes.count {
            var parser = HTTPHeadParser()
            #expect(HTTPTestSupport.feed(&parser, bytes[0..<split]).httpValue.flatMap { $0 } == nil)
            let parsed = try #require(HTTPTestSupport.feed(&parser, bytes[...]).httpValue.flatMap { $0 }, "split at \(split)")
            #expect(parsed.consumed == bytes.count)
            #expect(parsed.head.headers.count == 7)
        }
    }

    @Test func trailingFrameBytesAreNotConsumed() throws {
        let head = Array(Self.rfcRequest.utf8)
        let bytes = head + Self.frame
        let parsed = try #require(HTTPTestSupport.parse(bytes).httpValue.flatMap { $0 })
        #expect(parsed.consumed == head.count)
        #expect(Array(bytes[parsed.consumed...]) == Self.frame)
        expectRFCHead(parsed.head)
    }

    @Test func trailingBytesArrivingOneByteAtATime() throws {
        let head = Array(Self.rfcRequest.utf8)
        let bytes = head + Self.frame
        var parser = HTTPHeadParser()
        for count in 1...bytes.count {
            let value = try #require(HTTPTestSupport.feed(&parser, bytes[0..<count]).httpValue)
            if count < head.count {
                #expect(value == nil)
            } else {
                // Once the head is complete, extra bytes (here, fed with the same parser) never change what was consumed.
                #expect(value?.consumed == head.count, "prefix \(count)")
            }
        }
    }

    @Test func trailingBlankLinesBelongToTheNextBytes() throws {
        let head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let parsed = try #require(HTTPTestSupport.parse(head + "\r\n\r\nGET").httpValue.flatMap { $0 })
        #expect(parsed.consumed == head.utf8.count)
    }

    @Test func bareLFLineEndings() throws {
        let text = "GET /a?b=c HTTP/1.1\nHost: x\nUpgrade: websocket\n\n"
        let parsed = try #require(HTTPTestSupport.parse(text + "rest").httpValue.flatMap { $0 })
        #expect(parsed.consumed == text.utf8.count)
        #expect(parsed.head.path == "/a")
        #expect(parsed.head.query == ["b": "c"])
        #expect(parsed.head.header("host") == "x")
        #expect(parsed.head.header("upgrade") == "websocket")
        #expect(parsed.head.headers.count == 2)
    }

    @Test func mixedLineEndings() throws {
        for text in ["GET / HTTP/1.1\r\nHost: x\n\r\n", "GET / HTTP/1.1\nHost: x\r\n\n", "GET / HTTP/1.1\r\nHost: x\r\n\n"] {
            let parsed = try #require(HTTPTestSupport.parse(text + "\u{81}").httpValue.flatMap { $0 }, "\(text.debugDescription)")
            #expect(parsed.consumed == text.utf8.count)
            #expect(parsed.head.header("host") == "x")
            #expect(parsed.head.headers.count == 1)
        }
    }

    @Test func bareLFOneByteAtATime() throws {
        let bytes = Array("GET / HTTP/1.1\nHost: x\n\n".utf8)
        var parser = HTTPHeadParser()
        for count in 1..<bytes.count {
            #expect(HTTPTestSupport.feed(&parser, bytes[0..<count]).httpValue.flatMap { $0 } == nil)
        }
        #expect(HTTPTestSupport.feed(&parser, bytes[...]).httpValue.flatMap { $0 }?.consumed == bytes.count)
    }

    @Test func headerValuesAreTrimmedAndNamesLowerCased() throws {
        let parsed = try #require(HTTPTestSupport.parse("GET / HTTP/1.1\r\nX-Thing: \t a b \t\r\nEMPTY:\r\n\r\n").httpValue.flatMap { $0 })
        #expect(parsed.head.headers.map(\.name) == ["x-thing", "empty"])
        #expect(parsed.head.headers.map(\.value) == ["a b", ""])
    }

    @Test func valueMayContainColons() throws {
        let parsed = try #require(HTTPTestSupport.parse("GET / HTTP/1.1\r\nOrigin: http://h:1\r\n\r\n").httpValue.flatMap { $0 })
        #expect(parsed.head.header("origin") == "http://h:1")
    }

    // MARK: Limits

    @Test func headSizeLimitIsInclusive() throws {
        let text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"  // 27 bytes
        let exact = HTTPHeadParser(maxHeadBytes: text.utf8.count)
        #expect(HTTPTestSupport.parse(text, parser: exact).httpValue.flatMap { $0 }?.consumed == text.utf8.count)
        expectError(
            text, parser: HTTPHeadParser(maxHeadBytes: text.utf8.count - 1), status: 431,
            message: "request header fields too large (limit 26 bytes)")
    }

    @Test func trailingBytesDoNotCountTowardsTheHeadLimit() throws {
        let text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        let parser = HTTPHeadParser(maxHeadBytes: text.utf8.count)
        let bytes = Array(text.utf8) + [UInt8](repeating: 0x82, count: 1000)
        #expect(HTTPTestSupport.parse(bytes, parser: parser).httpValue.flatMap { $0 }?.consumed == text.utf8.count)
    }

    @Test func incompleteHeadOverTheLimitIsRejectedAsSoonAsItExceedsIt() {
        let limit = 40
        let bytes = Array(("GET / HTTP/1.1\r\nX-Long: " + String(repeating: "v", count: 100)).utf8)
        var parser = HTTPHeadParser(maxHeadBytes: limit)
        for count in 1...bytes.count {
            let result = HTTPTestSupport.feed(&parser, bytes[0..<count])
            if count <= limit {
                #expect(result.httpValue.flatMap { $0 } == nil && result.httpError == nil, "prefix \(count)")
            } else {
                #expect(result.httpError == HTTPParseError(status: 431, message: "request header fields too large (limit 40 bytes)"), "prefix \(count)")
            }
        }
    }

    @Test func headerCountLimit() throws {
        let three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        let parser = HTTPHeadParser(maxHeaderCount: 3)
        #expect(HTTPTestSupport.parse(three, parser: parser).httpValue.flatMap { $0 }?.head.headers.count == 3)
        expectError(
            "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", parser: parser, status: 431,
            message: "too many header fields (limit 3)")
    }

    @Test func defaultLimits() {
        let parser = HTTPHeadParser()
        #expect(parser.maxHeadBytes == 8192)
        #expect(parser.maxHeaderCount == 100)
        let many = "GET / HTTP/1.1\r\n" + (0...100).map { "H\($0): v\r\n" }.joined() + "\r\n"
        expectError(many, status: 431, message: "too many header fields (limit 100)")
    }

    // MARK: Malformed heads

    @Test func malformedRequestLines() {
        let expected = "malformed request line: expected 'METHOD TARGET HTTP/1.1'"
        for line in ["GET /", "GET", "GET  / HTTP/1.1", "GET / HTTP/1.1 extra", " / HTTP/1.1", "GET / HTTP/1.1 "] {
            expectError(line + "\r\nHost: x\r\n\r\n", status: 400, message: expected)
        }
        expectError("G(T / HTTP/1.1\r\n\r\n", status: 400, message: "malformed request line: invalid method")
        expectError("GET / FTP/1.1\r\n\r\n", status: 400, message: "malformed request line: invalid version 'FTP/1.1'")
        expectError("GET chat HTTP/1.1\r\n\r\n", status: 400, message: "malformed request target 'chat'")
        expectError("\r\n\r\n", status: 400, message: "empty request")
    }

    @Test func unsupportedVersions() {
        expectError("GET / HTTP/2.0\r\nHost: x\r\n\r\n", status: 505, message: "HTTP version HTTP/2.0 is not supported (use HTTP/1.1 or HTTP/1.0)")
        expectError("GET / HTTP/0.9\r\n\r\n", status: 505, message: "HTTP version HTTP/0.9 is not supported (use HTTP/1.1 or HTTP/1.0)")
    }

    @Test func acceptedRequestTargetForms() throws {
        for target in ["/", "*", "http://example.com/x"] {
            let head = try #require(HTTPTestSupport.parse("OPTIONS \(target) HTTP/1.1\r\n\r\n").httpValue.flatMap { $0 }?.head)
            #expect(head.target == target)
            #expect(head.method == "OPTIONS")
        }
    }

    @Test func missingColon() {
        expectError("GET / HTTP/1.1\r\nHost x\r\n\r\n", status: 400, message: "malformed header line 1: missing ':'")
        expectError("GET / HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n", status: 400, message: "malformed header line 2: missing ':'")
    }

    @Test func obsoleteLineFolding() {
        expectError("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", status: 400, message: "obsolete line folding in header line 2")
        expectError("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", status: 400, message: "obsolete line folding in header line 2")
        // Whitespace before the first field (RFC 9112 §2.2) is rejected the same way.
        expectError("GET / HTTP/1.1\r\n Host: x\r\n\r\n", status: 400, message: "obsolete line folding in header line 1")
    }

    @Test func invalidFieldNames() {
        expectError("GET / HTTP/1.1\r\nHost : x\r\n\r\n", status: 400, message: "malformed header line 1: invalid field name 'Host '")
        expectError("GET / HTTP/1.1\r\nA: 1\r\nBad Name: x\r\n\r\n", status: 400, message: "malformed header line 2: invalid field name 'Bad Name'")
        expectError("GET / HTTP/1.1\r\n: x\r\n\r\n", status: 400, message: "malformed header line 1: invalid field name ''")
        expectError("GET / HTTP/1.1\r\nX(y): x\r\n\r\n", status: 400, message: "malformed header line 1: invalid field name 'X(y)'")
    }

    @Test func tokenCharactersAreAcceptedInNames() throws {
        let head = try #require(HTTPTestSupport.parse("GET / HTTP/1.1\r\nX-a_b.c!#$%&'*+^`|~9: v\r\n\r\n").httpValue.flatMap { $0 }?.head)
        #expect(head.header("x-a_b.c!#$%&'*+^`|~9") == "v")
    }

    @Test func errorResponseCarriesStatusAndMessage() {
        let error = HTTPParseError(status: 431, message: "too many header fields (limit 3)")
        let response = error.response
        #expect(response.status == 431)
        #expect(response.reason == "Request Header Fields Too Large")
        #expect(response.body == Array("too many header fields (limit 3)\n".utf8))
        #expect(response.header("connection") == "close")
        #expect(error.description == "431: too many header fields (limit 3)")
    }
}
