import RedisClient
import Testing

@Suite struct RESPParserTests {
    static let stream: [UInt8] = Array("+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:-7\r\n*-1\r\n$0\r\n\r\n".utf8)
    static let expected: [RESPValue] = [
        .simple("OK"), .error("ERR wrong"), .integer(42), .bulk(Array("he\r\no".utf8)), .null,
        .array([.bulk([97]), .array([.integer(-7)])]), .null, .bulk([]),
    ]

    static func drain(_ parser: inout RESPParser) throws(RESPProtocolError) -> [RESPValue] {
        var values: [RESPValue] = []
        while let value = try parser.next() { values.append(value) }
        return values
    }

    @Test func parsesWholeInput() throws {
        var parser = RESPParser()
        parser.append(Self.stream)
        #expect(try Self.drain(&parser) == Self.expected)
        #expect(parser.bufferedBytes == 0)
    }

    @Test func parsesOneByteAtATime() throws {
        var parser = RESPParser()
        var values: [RESPValue] = []
        for byte in Self.stream {
            parser.append([byte])
            values += try Self.drain(&parser)
        }
        #expect(values == Self.expected)
    }

    @Test func parsesInUnevenBatches() throws {
        var parser = RESPParser()
        var values: [RESPValue] = []
        var rest = Self.stream[...]
        var size = 1
        while !rest.isEmpty {
            parser.append(rest.prefix(size))
            rest = rest.dropFirst(size)
            size = size % 7 + 2
            values += try Self.drain(&parser)
        }
        #expect(values == Self.expected)
    }

    @Test(arguments: [
        ("?what\r\n", "unknown type byte 0x3f", 0),
        ("$abc\r\n", "expected an integer, got \"abc\"", 1),
        ("$-5\r\n", "negative bulk length -5", 1),
        ("$3\r\nabcd\r\n", "bulk string of 3 bytes not followed by CRLF", 7),
        (":1\rx", "CR not followed by LF", 3),
        ("*2\r\n:1\n", "LF without CR", 6),
        ("$100\r\n", "bulk string of 100 bytes exceeds the limit of 10", 1),
        ("*100\r\n", "array of 100 elements exceeds the limit of 10", 1),
    ])
    func rejectsInvalidInputSayingWhatAndWhere(input: String, reason: String, offset: Int) {
        var parser = RESPParser(maxBulkBytes: 10, maxArrayElements: 10)
        parser.append(Array(input.utf8))
        do throws(RESPProtocolError) {
            _ = try Self.drain(&parser)
            Issue.record("accepted \(input.debugDescription)")
        } catch {
            #expect(error.reason.hasPrefix(reason), "\(error)")
            #expect(error.offset == offset, "\(error)")
        }
    }

    @Test func rejectsNestingDeeperThanTheLimit() {
        var parser = RESPParser(maxDepth: 3)
        parser.append(Array("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n".utf8))
        #expect(throws: RESPProtocolError.self) { try parser.next() }
    }

    @Test func aHeaderAnnouncingMuchReservesNothingUntilBytesArrive() throws {
        var parser = RESPParser()
        parser.append(Array("$400000000\r\nab".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedBytes == 14)
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() {
        var bytes: [UInt8] = []
        RedisCommand("SET", arguments: ["k", .binary([0, 13, 10])]).encode(into: &bytes)
        #expect(bytes == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\u{0}\r\n\r\n".utf8))
    }
}

@Suite struct RedisEndpointTests {
    @Test func parsesEveryPart() throws {
        let endpoint = try RedisEndpoint(url: "redis://:s%40cret@cache.local:6380/3")
        #expect(endpoint == RedisEndpoint(host: "cache.local", port: 6380, database: 3, password: "s@cret"))
        #expect(try RedisEndpoint(url: "redis://127.0.0.1") == RedisEndpoint())
        #expect(try RedisEndpoint(url: "redis://bob:pw@[::1]:7000/") == RedisEndpoint(host: "::1", port: 7000, username: "bob", password: "pw"))
    }

    @Test func takesThePasswordFromTheEnvironment() throws {
        let endpoint = try RedisEndpoint(
            url: "redis://:inurl@h:1/0", passwordEnvironment: "REDIS_PASSWORD", environment: ["REDIS_PASSWORD": "fromenv"])
        #expect(endpoint.password == "fromenv")
        #expect(try RedisEndpoint(url: "redis://h:1", passwordEnvironment: "X", environment: [:]).password == nil)
    }

    @Test(arguments: [
        ("http://h:1", "must start with redis://"),
        ("redis://h:99999", "port \"99999\" must be 1–65535"),
        ("redis://h:1/x", "database \"x\" must be a number"),
        ("redis://:1", "no host"),
    ])
    func rejectsBadURLs(url: String, reason: String) {
        #expect {
            _ = try RedisEndpoint(url: url)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}

@Suite struct ReconnectBackoffTests {
    @Test func doublesUpToTheMaximumAndResetsOnSuccess() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .milliseconds(350))
        let start = ContinuousClock.now
        #expect(backoff.decide(now: start) == .attempt)
        backoff.failed("refused", now: start)
        #expect(backoff.decide(now: start) == .wait(.milliseconds(100), lastError: "refused"))
        #expect(backoff.decide(now: start + .milliseconds(100)) == .attempt)
        backoff.failed("refused", now: start)
        #expect(backoff.decide(now: start) == .wait(.milliseconds(200), lastError: "refused"))
        backoff.failed("refused", now: start)
        #expect(backoff.decide(now: start) == .wait(.milliseconds(350), lastError: "refused"))
        backoff.succeeded()
        #expect(backoff.decide(now: start) == .attempt)
        backoff.failed("again", now: start)
        #expect(backoff.decide(now: start) == .wait(.milliseconds(100), lastError: "again"))
    }
}
