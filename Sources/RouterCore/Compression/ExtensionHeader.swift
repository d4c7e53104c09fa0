/// One element of a `Sec-WebSocket-Extensions` header: an extension name and its parameters, in header order.
struct ExtensionOffer: Sendable, CustomStringConvertible {
    /// The extension token as sent, e.g. `permessage-deflate`.
    var name: String
    /// Parameters in the order sent; `value` is nil for a bare `name`, and quoted-string values arrive unquoted.
    var parameters: [(name: String, value: String?)]

    init(name: String, parameters: [(name: String, value: String?)] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// The element in header syntax, e.g. `permessage-deflate; client_max_window_bits=10`.
    var description: String {
        ([name] + parameters.map { parameter in parameter.value.map { "\(parameter.name)=\($0)" } ?? parameter.name })
            .joined(separator: "; ")
    }
}

/// Why a `Sec-WebSocket-Extensions` value could not be parsed: what was wrong and where.
struct ExtensionHeaderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Index of the header line (0-based) among the values given to ``ExtensionHeader/parse(_:)``.
    var line: Int
    /// Byte offset (0-based) within that line.
    var offset: Int
    /// What was expected or found, e.g. `expected a parameter name after ';'`.
    var reason: String

    var description: String {
        "Sec-WebSocket-Extensions line \(line), byte \(offset): \(reason)"
    }
}

/// Parser of `Sec-WebSocket-Extensions` values (RFC 6455 §9.1).
///
/// ```
/// extension-list = 1#extension
/// extension      = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
/// The header may be repeated; all lines form one list, in order. Optional whitespace (SP, HTAB) is allowed around
/// `,`, `;` and `=`, and empty list elements (`a, , b`) are ignored (RFC 9110 §5.6.1). A quoted-string value must
/// unescape to a token (RFC 6455 §9.1). Anything else (a missing name, a stray character, an unterminated quote,
/// a non-ASCII byte) is an ``ExtensionHeaderError``.
enum ExtensionHeader {
    static func parse(_ values: [String]) throws(ExtensionHeaderError) -> [ExtensionOffer] {
        var offers: [ExtensionOffer] = []
        for (line, value) in values.enumerated() {
            var parser = Parser(bytes: Array(value.utf8), line: line)
            try parser.parseList(into: &offers)
        }
        return offers
    }

    /// Parses a single header value.
    static func parse(_ value: String) throws(ExtensionHeaderError) -> [ExtensionOffer] {
        try parse([value])
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        let line: Int
        var index = 0

        init(bytes: [UInt8], line: Int) {
            self.bytes = bytes
            self.line = line
        }

        func fail(_ reason: String) -> ExtensionHeaderError {
            ExtensionHeaderError(line: line, offset: index, reason: reason)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 { index += 1 }
        }

        func describe(_ byte: UInt8) -> String {
            byte >= 0x21 && byte < 0x7f ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        }

        mutating func token(_ what: String) throws(ExtensionHeaderError) -> String {
            let start = index
            while let byte = current, ExtensionHeader.isTokenByte(byte) { index += 1 }
            guard index > start else {
                if let byte = current { throw fail("expected \(what), found \(describe(byte))") }
                throw fail("expected \(what), found the end of the value")
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func quotedString() throws(ExtensionHeaderError) -> String {
            let open = index
            index += 1  // the opening DQUOTE
            var value: [UInt8] = []
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard !value.isEmpty, value.allSatisfy(ExtensionHeader.isTokenByte) else {
                        index = open
                        throw fail("quoted value \"\(String(decoding: value, as: UTF8.self))\" is not a token (RFC 6455 §9.1)")
                    }
                    return String(decoding: value, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { throw fail("unterminated quoted-string") }
                    index += 1
                    value.append(escaped)
                case 0x09, 0x20...0x7e:
                    value.append(byte)
                default:
                    index -= 1
                    throw fail("\(describe(byte)) is not allowed in a quoted-string")
                }
            }
            index = open
            throw fail("unterminated quoted-string")
        }

        mutating func parseList(into offers: inout [ExtensionOffer]) throws(ExtensionHeaderError) {
            while true {
                skipWhitespace()
                guard let byte = current else { return }
                if byte == UInt8(ascii: ",") {  // empty list element
                    index += 1
                    continue
                }
                var offer = ExtensionOffer(name: try token("an extension name"))
                skipWhitespace()
                while current == UInt8(ascii: ";") {
                    index += 1
                    skipWhitespace()
                    let name = try token("a parameter name after ';'")
                    skipWhitespace()
                    var value: String?
                    if current == UInt8(ascii: "=") {
                        index += 1
                        skipWhitespace()
                        if current == UInt8(ascii: "\"") {
                            value = try quotedString()
                        } else {
                            value = try token("a value after '\(name)='")
                        }
                        skipWhitespace()
                    }
                    offer.parameters.append((name: name, value: value))
                }
                offers.append(offer)
                guard let next = current else { return }
                guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ';', found \(describe(next))") }
                index += 1
            }
        }
    }
}
