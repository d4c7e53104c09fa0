import Testing

@testable import RouterCore

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(jsonText: #" {"a":[1,-2.5e1,true,false,null],"b":"x\"\u00e9\ud83d\ude00\n","c":{}} "#)
        #expect(
            value
                == .object([
                    "a": .array([.number(1), .number(-25), .bool(true), .bool(false), .null]),
                    "b": .string("x\"é😀\n"), "c": .object([:]),
                ]))
    }

    @Test(arguments: [
        (#"{"type":"x",}"#, 12, "unexpected '}', expected a string key"),
        (#"{"type" "x"}"#, 8, "unexpected '\"', expected ':'"),
        (#"{"a":1"#, 6, "unexpected end of input, expected ',' or '}'"),
        (#"[1,2"#, 4, "unexpected end of input, expected ',' or ']'"),
        (#"{"a":tru}"#, 8, "unexpected '}' in literal true"),
        (#"{"a":01}"#, 6, "leading zero in number"),
        (#"{"a":"\x"}"#, 7, "invalid escape \\'x'"),
        (#"{} x"#, 3, "unexpected 'x' after the top-level value"),
        ("", 0, "unexpected end of input, expected a value"),
        (#"{"a":"\ud800"}"#, 12, "lone high surrogate in \\u escape"),
    ])
    func reportsTheByteOffsetOfTheFirstError(input: String, offset: Int, reason: String) {
        #expect(throws: JSONParseError(offset: offset, reason: reason)) { try JSONValue(jsonText: input) }
    }

    @Test func rejectsControlCharactersInStrings() {
        #expect(throws: JSONParseError(offset: 3, reason: "unescaped control character in string")) {
            try JSONValue(jsonBytes: [0x22, 0x61, 0x62, 0x0A, 0x22])
        }
    }

    /// Found by the client-message fuzz target: a key with a truncated 2-byte sequence was accepted and decoded
    /// as U+FFFD. JSON text is UTF-8 (RFC 8259 §8.1); the error names the first invalid byte.
    @Test func rejectsInvalidUTF8InStrings() throws {
        #expect(throws: JSONParseError(offset: 19, reason: "invalid UTF-8 in string")) {
            try JSONValue(jsonBytes: Array(#"{"type":"cancel","i"#.utf8) + [0xCF] + Array(#"":"r1"}"#.utf8))
        }
        // After an escape (the parser's slow path): a lone continuation byte.
        #expect(throws: JSONParseError(offset: 4, reason: "invalid UTF-8 in string")) {
            try JSONValue(jsonBytes: [0x22, 0x5C, 0x6E, 0x61, 0x80, 0x22])
        }
        #expect(try JSONValue(jsonBytes: Array("\"caf\u{E9} \\n \u{1F600}\"".utf8)) == .string("caf\u{E9} \n \u{1F600}"))
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError(offset: 256, reason: "nesting deeper than 256 levels")) { try JSONValue(jsonText: deep) }
    }

    @Test func writesCompactSortedJSONWithIntegralNumbersAsIntegers() throws {
        let value: JSONValue = .object([
            "b": .number(10), "a": .array([.number(0.5), .number(-3), .string("q\"\\\n\u{01}")]), "c": .null,
        ])
        #expect(value.jsonText == #"{"a":[0.5,-3,"q\"\\\n\u0001"],"b":10,"c":null}"#)
        #expect(try JSONValue(jsonText: value.jsonText) == value)
    }

    /// Integers of up to 15 digits take a path of their own; every number must come out as `Double(text)`.
    @Test func integersParseAsTheFloatingPointParserWould() throws {
        var texts = ["0", "-0", "7", "-7", "999999999999999", "-999999999999999", "1000000000000000", "9007199254740993",
                     "123456789012345678901234567890", "1.5", "-2e3", "10E-2", "0.000001"]
        var generator = SystemRandomNumberGenerator()
        for digits in 1...15 {
            var bound: Int64 = 1
            for _ in 0..<digits { bound *= 10 }
            let value = Int64.random(in: 0..<bound, using: &generator)
            texts += [String(value), "-\(value)"]
        }
        for text in texts {
            guard case .array(let values) = try JSONParser.parse("[\(text)]"), case .number(let number) = values.first else {
                Issue.record("\(text) did not parse as a number")
                continue
            }
            let expected = try #require(Double(text))
            #expect(number == expected && number.sign == expected.sign, "\(text) → \(number), expected \(expected)")
        }
    }
}
