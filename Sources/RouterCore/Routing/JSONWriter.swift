/// Serializes ``JSONValue`` to compact UTF-8 JSON.
///
/// Object members are written in sorted key order, so output is deterministic. Integral numbers
/// of magnitude below 2^53 are written without a fraction (`10`, not `10.0`); non-finite numbers
/// (which JSON cannot carry) are written as `null`.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 128) {
        bytes.reserveCapacity(capacity)
    }

    static func serialize(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(value)
        return writer.bytes
    }

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): writeNumber(number)
        case .string(let text): writeString(text)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (offset, key) in members.keys.sorted().enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
                write(members[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Writes `{"k1":v1,"k2":v2,…}` with the members in the given order.
    mutating func writeOrderedObject(_ members: [(String, JSONValue)]) {
        bytes.append(UInt8(ascii: "{"))
        for (offset, member) in members.enumerated() {
            if offset > 0 { bytes.append(UInt8(ascii: ",")) }
            writeString(member.0)
            bytes.append(UInt8(ascii: ":"))
            write(member.1)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func writeNumber(_ number: Double) {
        guard number.isFinite else {
            bytes.append(contentsOf: "null".utf8)
            return
        }
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
            writeInteger(Int64(number))
        } else {
            bytes.append(contentsOf: String(describing: number).utf8)
        }
    }

    /// Writes the decimal digits of `value` without an intermediate `String`.
    mutating func writeInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var remaining = value.magnitude
        guard remaining >= 10 else {
            bytes.append(UInt8(ascii: "0") + UInt8(remaining))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            while remaining > 0 {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }

    mutating func writeString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.reserveCapacity(bytes.count + utf8.count + 2)
            bytes.append(UInt8(ascii: "\""))
            // Copy runs that need no escaping in one go; most strings are one run.
            var runStart = 0
            var index = 0
            if let base = utf8.baseAddress {
                let raw = UnsafeRawPointer(base)
                while index < utf8.count {
                    // Eight bytes at a time while none of them needs escaping (most text).
                    if index + 8 <= utf8.count, !Self.needsEscaping(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                        index += 8
                        continue
                    }
                    let byte = base[index]
                    if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                        appendEscaped(byte)
                        runStart = index + 1
                    }
                    index += 1
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// `["a","b"]`: an array of strings without a ``JSONValue`` per element.
    mutating func writeStrings(_ texts: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, text) in texts.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            writeString(text)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Whether any of the eight bytes of `word` is a control character (< 0x20), `"` or `\`: the bytes
    /// JSON must escape. Exact (no false negatives nor positives on whether one exists).
    @inline(__always)
    static func needsEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        // A byte below 0x20 (a byte with its high bit set is not: `& ~word` drops it).
        let control = (word &- ones &* 0x20) & ~word & highBits
        // A zero byte after XOR with the character's pattern: a byte equal to it.
        func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highBits != 0 }
        return control != 0 || hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C))
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }
}

extension JSONValue {
    /// Compact JSON text of this value (sorted keys).
    public var jsonText: String { String(decoding: JSONWriter.serialize(self), as: UTF8.self) }

    /// Parses JSON text strictly (RFC 8259), reporting the byte offset of the first error.
    public init(jsonText: String) throws(JSONParseError) {
        self = try JSONParser.parse(jsonText)
    }

    /// Parses UTF-8 JSON bytes strictly (RFC 8259), reporting the byte offset of the first error.
    public init(jsonBytes: [UInt8]) throws(JSONParseError) {
        self = try JSONParser.parse(jsonBytes)
    }
}
