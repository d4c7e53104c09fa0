/// Why a message is not valid JSON, with the byte offset where parsing failed (RFC 8259).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based offset of the first byte that could not be accepted.
    public var offset: Int
    /// What was expected or found, e.g. `expected ',' or '}'`.
    public var reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict RFC 8259 parser from UTF-8 bytes to ``JSONValue``.
///
/// Used for every inbound message: it reports the byte offset of the first error (the
/// client sees it in `bad_request`), limits nesting depth, and accepts nothing after the
/// top-level value but whitespace.
struct JSONParser {
    /// Nesting deeper than this is rejected (stack safety on hostile input).
    static let maxDepth = 256

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try parseDocument(bytes) { parser throws(JSONParseError) in try parser.parseValue(depth: 0) }
    }

    /// A top-level value, with an object's members kept in order instead of in a dictionary.
    enum TopLevel {
        case object(JSONMembers)
        case other(JSONValue)
    }

    /// Parses like ``parse(_:)``, but a top-level object comes back as its members: an inbound message
    /// needs three or four of them once, which a dictionary would hash twice each. The member `nestedKey`, when
    /// an object, is kept as members too (a request's `data`: read once or twice, by a reader that knows its
    /// keys; ``JSONMembers/nested(_:)``).
    static func parseTopLevel(_ bytes: [UInt8], nestedKey: String? = nil) throws(JSONParseError) -> TopLevel {
        try parseDocument(bytes) { parser throws(JSONParseError) -> TopLevel in
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "{") else {
                return .other(try parser.parseValue(depth: 0))
            }
            var members = JSONMembers()
            try parser.parseObjectMembers(depth: 1) { parser, key throws(JSONParseError) in
                if key == nestedKey, parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "{") {
                    members.append(key, nested: try parser.parseMembers(depth: 2))
                } else {
                    members.append(key, try parser.parseValue(depth: 1))
                }
            }
            return .object(members)
        }
    }

    /// One document: whitespace, the value `body` parses, whitespace, and nothing else.
    private static func parseDocument<Value>(
        _ bytes: [UInt8], _ body: (inout JSONParser) throws(JSONParseError) -> Value
    ) throws(JSONParseError) -> Value {
        let result: Result<Value, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            do throws(JSONParseError) {
                parser.skipWhitespace()
                let value = try body(&parser)
                parser.skipWhitespace()
                if parser.index < buffer.count {
                    throw parser.failure("unexpected \(parser.describeCurrent()) after the top-level value")
                }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private func failure(_ reason: String) -> JSONParseError {
        JSONParseError(offset: index, reason: reason)
    }

    /// The error for a string from `start` to `index` (its closing quote) that is not valid UTF-8 (RFC 8259 §8.1),
    /// at the first byte that does not belong to a valid sequence.
    private func invalidUTF8(from start: Int) -> JSONParseError {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = UnsafeBufferPointer(rebasing: bytes[start..<index]).makeIterator()
        var offset = start
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        return JSONParseError(offset: offset, reason: "invalid UTF-8 in string")
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        for expected in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard index < bytes.count, bytes[index] == expected else {
                throw failure("unexpected \(describeCurrent()) in literal \(literal)")
            }
            index += 1
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > Self.maxDepth { throw failure("nesting deeper than \(Self.maxDepth) levels") }
        var members: [String: JSONValue] = [:]
        try parseObjectMembers(depth: depth) { parser, key throws(JSONParseError) in
            let value = try parser.parseValue(depth: depth)
            // Room for three members at the first: one allocation for a small object, where growing one by one
            // would take two.
            if members.isEmpty { members.reserveCapacity(3) }
            members[key] = value
        }
        return .object(members)
    }

    /// An object at `depth` (from its opening brace) as its members, in order.
    private mutating func parseMembers(depth: Int) throws(JSONParseError) -> JSONMembers {
        if depth > Self.maxDepth { throw failure("nesting deeper than \(Self.maxDepth) levels") }
        var members = JSONMembers()
        try parseObjectMembers(depth: depth) { parser, key throws(JSONParseError) in
            members.append(key, try parser.parseValue(depth: depth))
        }
        return members
    }

    /// Reads `{ "key": value, … }` from the opening brace; `member` reads each member's value (the parser
    /// is past its key and colon), in order.
    private mutating func parseObjectMembers(
        depth: Int, _ member: (inout JSONParser, String) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        index += 1  // {
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describeCurrent()), expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw failure("unexpected \(describeCurrent()), expected ':'")
            }
            index += 1
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input, expected ',' or '}'") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return
            default: throw failure("unexpected \(describeCurrent()), expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > Self.maxDepth { throw failure("nesting deeper than \(Self.maxDepth) levels") }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input, expected ',' or ']'") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw failure("unexpected \(describeCurrent()), expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes. ASCII (every byte below 0x80) is valid UTF-8 as it is and takes the
        // non-validating initializer; only other text is validated.
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            highBits |= byte
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                let text: String
                if highBits < 0x80 {
                    text = String(decoding: raw, as: UTF8.self)
                } else {
                    guard let validated = String(validating: raw, as: UTF8.self) else { throw invalidUTF8(from: start) }
                    text = validated
                }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("unescaped control character in string") }
            index += 1
        }
        var scalars = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                // Escapes add only valid UTF-8, so `scalars` is valid exactly when the raw bytes are.
                guard let text = String(validating: scalars, as: UTF8.self) else { throw invalidUTF8(from: start) }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw failure("unexpected end of input in escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
                        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                            index += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else {
                                index -= 6
                                throw failure("invalid low surrogate in \\u escape")
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            throw failure("lone high surrogate in \\u escape")
                        }
                    } else if (0xDC00...0xDFFF).contains(code) {
                        index -= 6
                        throw failure("lone low surrogate in \\u escape")
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    index -= 1
                    throw failure("invalid escape \\\(describeCurrent())")
                }
            default:
                if byte < 0x20 { throw failure("unescaped control character in string") }
                scalars.append(byte)
                index += 1
            }
        }
        throw failure("unexpected end of input in string")
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw failure("unexpected end of input in \\u escape") }
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit \(describeCurrent()) in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("expected a digit") }
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw failure("leading zero in number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        // An integer of up to 15 digits (most numbers in requests: limits, counts) is exact in a Double:
        // computed here, without making a string for the floating-point parser.
        let isInteger = index == bytes.count || (bytes[index] != UInt8(ascii: ".") && bytes[index] | 0x20 != UInt8(ascii: "e"))
        if isInteger, index - integerStart <= 15 {
            var value: Int64 = 0
            for digit in bytes[integerStart..<index] { value = value * 10 + Int64(digit - UInt8(ascii: "0")) }
            return negative ? -Double(value) : Double(value)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("expected a digit in exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            index = start
            throw failure("number out of range")
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// An object's members in document order; a repeated key's last value wins, as in a parsed ``JSONValue``.
/// One member may be kept as members itself (``JSONParser/parseTopLevel(_:nestedKey:)``).
package struct JSONMembers: Sendable {
    private typealias Pairs = [(key: String, value: JSONValue)]

    /// One array, with room for a message's usual members (`type`, `id`, `data`, `timeout`): one allocation.
    private var members: Pairs
    /// The member kept as members: its index in `members` (where `null` stands in for it), and its members
    /// (their array, not a `JSONMembers`: a value cannot hold its own type without a box to allocate).
    private var kept: (index: Int, members: Pairs)?

    init() {
        members = []
        members.reserveCapacity(4)
    }

    private init(members: Pairs) {
        self.members = members
    }

    mutating func append(_ key: String, _ value: JSONValue) {
        members.append((key, value))
    }

    /// Appends an object member kept as its members.
    mutating func append(_ key: String, nested: JSONMembers) {
        kept = (members.count, nested.members)
        members.append((key, .null))
    }

    /// The number of members, a repeated key counted each time.
    package var count: Int { members.count }

    package subscript(key: String) -> JSONValue? {
        members.lastIndex(where: { $0.key == key }).map(value(at:))
    }

    /// The value of member `index`; the kept one as an object.
    private func value(at index: Int) -> JSONValue {
        guard let kept, kept.index == index else { return members[index].value }
        return .object(JSONMembers(members: kept.members).dictionary)
    }

    /// Member `key` when it was kept as members; nil when it is another value, or absent.
    func nested(_ key: String) -> JSONMembers? {
        guard let kept, let index = members.lastIndex(where: { $0.key == key }), kept.index == index else { return nil }
        return JSONMembers(members: kept.members)
    }

    /// The members as a ``JSONValue`` object's.
    package var dictionary: [String: JSONValue] {
        var dictionary: [String: JSONValue] = [:]
        dictionary.reserveCapacity(members.count)
        for index in members.indices { dictionary[members[index].key] = value(at: index) }
        return dictionary
    }
}
