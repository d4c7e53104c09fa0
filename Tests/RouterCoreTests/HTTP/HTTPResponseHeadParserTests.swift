import Testing
@testable import RouterCore

@Suite("HTTPResponseHeadParser")
struct HTTPResponseHeadParserTests {
    static let head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: a\r\nsec-websocket-extensions:  b \r\n\r\n"
    /// An unmasked server text frame "Hello".
    static let frame: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]

    private func parse(_ bytes: [UInt8], parser: HTTPResponseHeadParser = .init()) -> Result<(head: HTTPResponseHead, consumed: Int)?, HTTPParseError> {
        var parser = parser
        return HTTPTestSupport.parseResponse(&parser, bytes[...])
    }

    private func expectHead(_ head: HTTPResponseHead) {
        #expect(head.status == 101)
        #expect(head.reason == "Switching Protocols")
        #expect(head.headers.map(\.name) == ["upgrade", "connection", "sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-extensions"])
        #expect(head.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(head.headerValues("Sec-WebSocket-Extensions") == ["a", "b"])
    }

    @Test func oneByteAtATimeWithTrailingFrame() throws {
        let headBytes = Array(Self.head.utf8)
        let bytes = headBytes + Self.frame
        var parser = HTTPResponseHeadParser()
        for count in 1...bytes.count {
            let result = HTTPTestSupport.parseResponse(&parser, bytes[0..<count])
            let value = try #require(result.httpValue, "prefix \(count) threw")
            if count < headBytes.count {
                #expect(value == nil, "prefix \(count)")
            } else {
                let parsed = try #require(value)
                #expect(parsed.consumed == headBytes.count, "prefix \(count)")
                expectHead(parsed.head)
            }
        }
    }

    @Test func wholeWithTrailingBytes() throws {
        let bytes = Array(Self.head.utf8) + Self.frame
        let parsed = try #require(parse(bytes).httpValue.flatMap { $0 })
        #expect(Array(bytes[parsed.consumed...]) == Self.frame)
        expectHead(parsed.head)
    }

    @Test func bareLF() throws {
        let text = "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n"
        let parsed = try #require(parse(Array((text + "x").utf8)).httpValue.flatMap { $0 })
        #expect(parsed.consumed == text.utf8.count)
        #expect(parsed.head.header("upgrade") == "websocket")
    }

    @Test func statusLineWithoutReason() throws {
        let parsed = try #require(parse(Array("HTTP/1.1 204\r\n\r\n".utf8)).httpValue.flatMap { $0 })
        #expect(parsed.head.status == 204)
        #expect(parsed.head.reason == "")
        #expect(parsed.head.headers.isEmpty)
    }

    @Test func malformedStatusLines() {
        for line in ["HTTP/1.1", "HTTP/1.1 abc OK", "ICY 200 OK", "HTTP/1.1 1O1 OK"] {
            #expect(
                parse(Array((line + "\r\n\r\n").utf8)).httpError == HTTPParseError(status: 400, message: "malformed status line '\(line)'"),
                "\(line)")
        }
    }

    @Test func malformedHeaderLine() {
        #expect(
            parse(Array("HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n".utf8)).httpError
                == HTTPParseError(status: 400, message: "malformed header line 'Upgrade websocket'"))
    }

    @Test func emptyResponse() {
        #expect(parse(Array("\r\n\r\n".utf8)).httpError == HTTPParseError(status: 400, message: "empty response"))
    }

    @Test func incompleteHeadOverTheLimit() {
        let parser = HTTPResponseHeadParser(maxHeadBytes: 32)
        let partial = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n".utf8)
        #expect(parse(Array(partial.prefix(32)), parser: parser).httpError == nil)
        #expect(parse(partial, parser: parser).httpError == HTTPParseError(status: 431, message: "response head too large"))
    }

    /// The limit must not depend on how the bytes were chunked: a head longer than the limit that arrives
    /// complete in one read is as oversized as the same head arriving in pieces.
    @Test func completeHeadOverTheLimit() {
        let parser = HTTPResponseHeadParser(maxHeadBytes: 32)
        let bytes = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".utf8)
        #expect(parse(bytes, parser: parser).httpError == HTTPParseError(status: 431, message: "response head too large"))
        let small = Array("HTTP/1.1 101 OK\r\nA: b\r\n\r\n".utf8)
        #expect(parse(small + [UInt8](repeating: 0x81, count: 100), parser: parser).httpValue.flatMap { $0 }?.consumed == small.count)
    }
}
