import Testing

@testable import RouterCore

@Suite struct JSONWriterTests {
    @Test(arguments: [Int64(0), 7, 9, 10, 42, -1, -10, 1_234_567_890, 9_007_199_254_740_991, .max, .min])
    func integersAreWrittenAsTheirDecimalDigits(_ value: Int64) {
        var writer = JSONWriter()
        writer.writeInteger(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
    }

    @Test func numbersUseIntegerDigitsWhenIntegralAndFiniteOtherwiseNull() {
        func written(_ number: Double) -> String {
            var writer = JSONWriter()
            writer.writeNumber(number)
            return String(decoding: writer.bytes, as: UTF8.self)
        }
        #expect(written(3) == "3")
        #expect(written(-250) == "-250")
        #expect(written(0.5) == "0.5")
        #expect(written(.infinity) == "null")
    }

    @Test func seqIsSpliced() {
        let message = ServerMessage(type: "pong", id: "a")
        #expect(String(decoding: message.encoded(seq: 1234), as: UTF8.self) == #"{"type":"pong","seq":1234,"id":"a"}"#)
    }

    @Test(arguments: [
        ("", #""""#), ("plain text", #""plain text""#), ("São Paulo ☕️ 東京", #""São Paulo ☕️ 東京""#),
        ("a\"b", #""a\"b""#), ("back\\slash", #""back\\slash""#), ("\n\r\t", #""\n\r\t""#),
        ("\u{01}x\u{1F}", #""\u0001x\u001f""#), ("\"\"", #""\"\"""#), ("end\n", #""end\n""#), ("\u{7F}é", "\"\u{7F}é\""),
    ])
    func stringsEscapeQuotesBackslashesAndControlCharactersOnly(_ text: String, _ expected: String) throws {
        var writer = JSONWriter()
        writer.writeString(text)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
        // And the parser reads it back.
        #expect(try JSONValue(jsonBytes: writer.bytes) == .string(text))
    }
}
