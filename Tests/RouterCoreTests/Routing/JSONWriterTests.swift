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

    /// Fractions are written with the standard library's shortest round-trip digits (`description`),
    /// taken from its stream interface without a `String`: the same text for any double.
    @Test func fractionsAreWrittenAsTheirDescription() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = [0.1, -0.5, 1.5990166664123535, 1e-7, -2.5e-308, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
            -.greatestFiniteMagnitude, 9_007_199_254_740_993.5, 1e300, 0.1 + 0.2]
        for _ in 0..<2000 { samples.append(Double(bitPattern: generator.next())) }
        for _ in 0..<2000 { samples.append(Double.random(in: -1000...1000, using: &generator)) }
        for number in samples where number.isFinite && number != number.rounded() || abs(number) >= 9_007_199_254_740_992 {
            guard number.isFinite else { continue }
            var writer = JSONWriter()
            writer.writeNumber(number)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(describing: number), "\(number)")
        }
    }

    @Test func seqIsSpliced() {
        let message = ServerMessage(type: "pong", id: "a")
        #expect(String(decoding: message.encoded(seq: 1234), as: UTF8.self) == #"{"type":"pong","seq":1234,"id":"a"}"#)
    }

    /// A result's members written elsewhere (the body) land where members written into the message would,
    /// before the members written after them, with or without `id` and `op`, `seq` or none; an empty body
    /// adds nothing.
    @Test(arguments: [UInt64(0), 42, .max])
    func aBodyGoesWhereItsMembersWouldBeWritten(_ seq: UInt64) {
        func text(_ bytes: String) -> JSONText {
            var writer = JSONWriter()
            Array(bytes.utf8).withUnsafeBufferPointer { writer.append($0) }
            return writer.takeText()
        }
        let members = #""results":[{"id":"m-1"}],"total":1"#
        for (id, op) in [("r-1", "memory_search"), (nil, nil)] as [(String?, String?)] {
            for body in [members, ""] {
                let withBody = ServerMessage(type: "search_complete", id: id, op: op, body: text(body)) { writer in
                    writer.append(#","elapsedMs":3"#)
                }
                let written = ServerMessage(type: "search_complete", id: id, op: op) { writer in
                    if !body.isEmpty { Array(("," + body).utf8).withUnsafeBufferPointer { writer.append($0) } }
                    writer.append(#","elapsedMs":3"#)
                }
                #expect(withBody.encoded(seq: seq) == written.encoded(seq: seq))
                #expect(withBody.encodedWithoutSeq() == written.encodedWithoutSeq())
            }
        }
        let expected = #"{"type":"search_complete","seq":42,"id":"r-1","op":"memory_search","# + members + #","elapsedMs":3}"#
        let message = ServerMessage(type: "search_complete", id: "r-1", op: "memory_search", body: text(members)) { writer in
            writer.append(#","elapsedMs":3"#)
        }
        #expect(String(decoding: message.encoded(seq: 42), as: UTF8.self) == expected)
    }

    /// The message is written once with a place for its `seq`: each `seq` goes there, and the `resumed`
    /// form leaves the member out; the rest (an escaped type, id, op, fields) is as written.
    @Test(arguments: [UInt64(0), 7, 10, 1234, 9_999_999_999, .max])
    func aMessageTakesAnySeqOrNone(_ seq: UInt64) {
        let message = ServerMessage(type: "odd\"type", id: "r-1", op: "memory_search", fields: [("total", .number(3))])
        let rest = #","id":"r-1","op":"memory_search","total":3}"#
        #expect(String(decoding: message.encoded(seq: seq), as: UTF8.self) == #"{"type":"odd\"type","seq":"# + "\(seq)" + rest)
        #expect(String(decoding: message.encodedWithoutSeq(), as: UTF8.self) == #"{"type":"odd\"type""# + rest)
        let bare = ServerMessage(type: "pong")
        #expect(String(decoding: bare.encoded(seq: seq), as: UTF8.self) == #"{"type":"pong","seq":"# + "\(seq)}")
        #expect(String(decoding: bare.encodedWithoutSeq(), as: UTF8.self) == #"{"type":"pong"}"#)
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

    /// Strings are scanned eight bytes at a time: every byte JSON must escape, at every position relative
    /// to an eight-byte word, is escaped as by a byte-by-byte reference, and nothing else is.
    @Test func escapingMatchesAByteByByteReference() throws {
        func reference(_ text: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for byte in text.utf8 {
                switch byte {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case ..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                default: out.append(byte)
                }
            }
            return out + [0x22]
        }
        let alphabet: [String] = ["a", "Z", " ", "\"", "\\", "\n", "\u{01}", "\u{1F}", "\u{7F}", "é", "😀", "!", "#", "]", "\u{20}", "~"]
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            for _ in 0..<50 {
                let text = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined()
                var writer = JSONWriter()
                writer.writeString(text)
                #expect(writer.bytes == reference(text), "\(text.debugDescription)")
                // And it parses back.
                #expect(try JSONParser.parse(writer.bytes) == .string(text))
            }
        }
        for byte in UInt8(0)...UInt8(255) {
            let word = UInt64(byte) << 24 | 0x4141_4141_4141_4141 & ~(UInt64(0xFF) << 24)
            let expected = byte < 0x20 || byte == 0x22 || byte == 0x5C
            #expect(JSONWriter.needsEscaping(word) == expected, "byte \(byte)")
        }
    }

    /// A string that needs no escaping is checked eight bytes at a time, its last eight (overlapping) or,
    /// shorter than eight, its bytes padded: a byte to escape is found at every position of every length.
    @Test func aByteToEscapeIsFoundAtEveryPositionOfEveryLength() throws {
        for length in 0..<40 {
            let plain = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(!plain.withUnsafeBufferPointer { JSONWriter.needsEscaping($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, length) })
            for position in 0..<length {
                for special: UInt8 in [0x00, 0x0A, 0x1F, 0x22, 0x5C] {
                    var bytes = plain
                    bytes[position] = special
                    #expect(bytes.withUnsafeBufferPointer { JSONWriter.needsEscaping($0.baseAddress!, length) }, "\(special) at \(position) of \(length)")
                    let text = String(decoding: bytes, as: UTF8.self)
                    var writer = JSONWriter()
                    writer.writeString(text)
                    #expect(try JSONParser.parse(writer.bytes) == .string(text))
                }
            }
        }
    }

    /// The writer's buffer starts small and grows as it goes, also in the middle of a string whose escapes
    /// make it longer than reserved: a long array of escaped strings, numbers and integers written into one
    /// writer reads back as what was written.
    @Test func aGrowingBufferKeepsEverythingWritten() throws {
        var values: [JSONValue] = []
        for index in 0..<300 {
            switch index % 4 {
            case 0: values.append(.string(String(repeating: "\u{01}\"\\\n", count: index)))
            case 1: values.append(.number(Double(index) * 1.25))
            case 2: values.append(.number(Double(-index * 1_000_003)))
            default: values.append(.string("é☕️ \(index) " + String(repeating: "x", count: index)))
            }
        }
        var writer = JSONWriter(reservingCapacity: 1)
        writer.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.write(value)
        }
        writer.append(UInt8(ascii: "]"))
        #expect(writer.count == writer.bytes.count)
        #expect(try JSONParser.parse(writer.bytes) == .array(values))
        #expect(writer.bytes == JSONWriter.serialize(.array(values)))
    }
}
