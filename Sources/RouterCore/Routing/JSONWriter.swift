/// Serializes ``JSONValue`` to compact UTF-8 JSON.
///
/// Object members are written in sorted key order, so output is deterministic. Integral numbers
/// of magnitude below 2^53 are written without a fraction (`10`, not `10.0`); non-finite numbers
/// (which JSON cannot carry) are written as `null`.
///
/// The text is written into a buffer the writer owns (hence noncopyable): an append is a bounds check and
/// a store, where an `Array` append is also a uniqueness check and a count update, and every message the
/// router sends is a few dozen appends. The buffer is a ``JSONText`` (one allocation, its bytes stored in the
/// object): ``takeText()`` hands it over without copying; ``bytes`` copies the text into an array.
struct JSONWriter: ~Copyable {
    private var storage: JSONText.Storage
    /// `storage`'s bytes: stable while `storage` is held (an object's tail-allocated elements never move).
    private var base: UnsafeMutablePointer<UInt8>
    /// Bytes written.
    private(set) var count = 0
    private var capacity: Int

    init(reservingCapacity capacity: Int = 128) {
        self.capacity = max(capacity, 16)
        storage = JSONText.Storage.make(capacity: self.capacity)
        base = storage.elements
    }

    /// The text written so far, as an array (a copy).
    var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.initialize(from: base, count: count) }
            initialized = count
        }
    }

    /// The text written so far, without a copy, for the duration of `body`.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// The text written, in the buffer it was written to (not a copy): the writer's last use.
    consuming func takeText() -> JSONText {
        storage.header = count
        return JSONText(storage: storage)
    }

    static func serialize(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(value)
        return writer.bytes
    }

    // MARK: Raw appends

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(toHold: count + extra) }
    }

    @inline(never)
    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let larger = JSONText.Storage.make(capacity: newCapacity)
        larger.elements.initialize(from: base, count: count)
        storage = larger
        base = larger.elements
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        append(source, count: bytes.count)
    }

    /// `count` bytes from `source`.
    @inline(__always)
    mutating func append(_ source: UnsafePointer<UInt8>, count length: Int) {
        guard length > 0 else { return }
        reserve(length)
        (base + count).initialize(from: source, count: length)
        count += length
    }

    /// A literal: punctuation and keys that need no escaping.
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    mutating func append(_ text: JSONText) {
        text.withBytes { append($0) }
    }

    // MARK: JSON

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .number(let number): writeNumber(number)
        case .string(let text): writeString(text)
        case .array(let elements):
            append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { append(UInt8(ascii: ",")) }
                write(element)
            }
            append(UInt8(ascii: "]"))
        case .object(let members):
            append(UInt8(ascii: "{"))
            for (offset, key) in members.keys.sorted().enumerated() {
                if offset > 0 { append(UInt8(ascii: ",")) }
                writeString(key)
                append(UInt8(ascii: ":"))
                write(members[key]!)
            }
            append(UInt8(ascii: "}"))
        }
    }

    /// Writes `{"k1":v1,"k2":v2,…}` with the members in the given order.
    mutating func writeOrderedObject(_ members: [(String, JSONValue)]) {
        append(UInt8(ascii: "{"))
        for (offset, member) in members.enumerated() {
            if offset > 0 { append(UInt8(ascii: ",")) }
            writeString(member.0)
            append(UInt8(ascii: ":"))
            write(member.1)
        }
        append(UInt8(ascii: "}"))
    }

    mutating func writeNumber(_ number: Double) {
        writeShortest(number)
    }

    /// Writes `number` with the shortest digits that read back as this `Float` (what its `description`
    /// gives): a score computed in 32 bits is `1.5990167`, not the 17 digits of the `Double` it widens to.
    mutating func writeNumber(_ number: Float) {
        writeShortest(number)
    }

    /// An integral value below 2^53 as an integer (as a `Double` of the same value is written), else the
    /// standard library's shortest round-trip digits (what `description` gives), without the `String` a
    /// 17-digit number would allocate; non-finite as `null`.
    private mutating func writeShortest<Number: BinaryFloatingPoint & TextOutputStreamable>(_ number: Number) {
        guard number.isFinite else {
            append("null")
            return
        }
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
            writeInteger(Int64(number))
        } else {
            var text = NumberText()
            number.write(to: &text)
            text.withBytes { append($0) }
        }
    }

    /// Writes the decimal digits of `value` without an intermediate `String`.
    mutating func writeInteger(_ value: Int64) {
        reserve(20)
        if value < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        var digits = 1
        var rest = value.magnitude / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        count += digits
        _ = Self.writeDigits(of: value.magnitude, before: base + count)
    }

    /// Writes the decimal digits of `value` backwards, the last one just before `end` (at most 20 bytes);
    /// returns where the first one is.
    static func writeDigits(of value: UInt64, before end: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var remaining = value
        var position = end
        repeat {
            position -= 1
            position.pointee = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        } while remaining > 0
        return position
    }

    mutating func writeString(_ text: String) {
        Self.withUTF8(text) { writeString(utf8: $0) }
    }

    /// `text`'s UTF-8 in place for a native or small string (no copy of the string, so no reference count
    /// either), else in a native copy.
    static func withUTF8(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if text.utf8.withContiguousStorageIfAvailable(body) != nil { return }
        var text = text
        text.withUTF8(body)
    }

    /// Writes `utf8` (valid UTF-8) as a JSON string.
    mutating func writeString(utf8: UnsafeBufferPointer<UInt8>) {
        // Most strings need no escaping at all: checked eight bytes at a time, the last eight (or the whole of
        // a shorter string, padded with a byte that needs none) in one more check, and copied whole.
        if let source = utf8.baseAddress, !Self.needsEscaping(source, utf8.count) {
            writeUnescapedString(utf8: utf8)
            return
        }
        // The quotes and the text; an escape reserves its own.
        reserve(utf8.count + 2)
        base[count] = UInt8(ascii: "\"")
        count += 1
        if let source = utf8.baseAddress {
            // Copy runs that need no escaping in one go. (Pointers and counts, not slices: a `PartialRangeFrom`
            // slice went through generic range code per string.)
            let length = utf8.count
            var runStart = 0
            var index = 0
            while index < length {
                // Eight bytes at a time while none of them needs escaping.
                if index + 8 <= length, !Self.needsEscaping(UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)) {
                    index += 8
                    continue
                }
                let byte = source[index]
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    append(source + runStart, count: index - runStart)
                    appendEscaped(byte)
                    runStart = index + 1
                }
                index += 1
            }
            append(source + runStart, count: length - runStart)
        }
        append(UInt8(ascii: "\""))
    }

    /// Writes `utf8` as a JSON string as it is: the caller knows it has no byte JSON must escape (no control
    /// character, `"` or `\`), as an index that looked once knows of the text it keeps.
    mutating func writeUnescapedString(utf8: UnsafeBufferPointer<UInt8>) {
        reserve(utf8.count + 2)
        base[count] = UInt8(ascii: "\"")
        count += 1
        if let source = utf8.baseAddress { append(source, count: utf8.count) }
        append(UInt8(ascii: "\""))
    }

    /// `["a","b"]`: an array of strings without a ``JSONValue`` per element.
    mutating func writeStrings(_ texts: [String]) {
        append(UInt8(ascii: "["))
        for (index, text) in texts.enumerated() {
            if index > 0 { append(UInt8(ascii: ",")) }
            writeString(text)
        }
        append(UInt8(ascii: "]"))
    }

    /// Whether any of the `length` bytes at `source` needs escaping: eight at a time, then the last eight
    /// (overlapping) or, for a string shorter than eight, its bytes padded with spaces.
    @inline(__always)
    static func needsEscaping(_ source: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let raw = UnsafeRawPointer(source)
        guard length >= 8 else {
            var word: UInt64 = 0x2020_2020_2020_2020
            withUnsafeMutableBytes(of: &word) { $0.baseAddress!.copyMemory(from: raw, byteCount: length) }
            return needsEscaping(word)
        }
        var index = 0
        while index + 8 <= length {
            if needsEscaping(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) { return true }
            index += 8
        }
        return index < length && needsEscaping(raw.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self))
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
        case UInt8(ascii: "\""): append(#"\""#)
        case UInt8(ascii: "\\"): append(#"\\"#)
        case 0x0A: append(#"\n"#)
        case 0x0D: append(#"\r"#)
        case 0x09: append(#"\t"#)
        default:
            let hex: StaticString = "0123456789abcdef"
            append(#"\u00"#)
            hex.withUTF8Buffer { digits in
                append(digits[Int(byte >> 4)])
                append(digits[Int(byte & 0xF)])
            }
        }
    }
}

/// A number's text from its `TextOutputStreamable.write(to:)`: the standard library hands floating-point
/// digits to `_writeASCII` as bytes, kept here in place (up to 32: a `Double` takes at most 24); anything
/// else, or more, is collected in a `String`, as the default `_writeASCII` would.
private struct NumberText: TextOutputStream {
    private var ascii: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var count = 0
    private var text = ""

    mutating func write(_ string: String) {
        text += string
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard text.isEmpty, count + buffer.count <= MemoryLayout.size(ofValue: ascii) else {
            text += String(decoding: buffer, as: UTF8.self)
            return
        }
        let start = count
        withUnsafeMutableBytes(of: &ascii) { raw in
            UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + buffer.count]).copyMemory(from: UnsafeRawBufferPointer(buffer))
        }
        count += buffer.count
    }

    /// The bytes in place, then the collected text.
    mutating func withBytes(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let count = count
        withUnsafeBytes(of: &ascii) { raw in body(UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[..<count])) }
        text.withUTF8 { body($0) }
    }
}

/// JSON text a ``JSONWriter`` wrote, in the buffer it wrote it to: passed on and read without copying.
/// Immutable once handed over (hence sendable).
struct JSONText: @unchecked Sendable {
    fileprivate let storage: Storage

    /// One allocation: the header is the text's length, the bytes are stored in the object.
    fileprivate final class Storage: ManagedBuffer<Int, UInt8> {
        static func make(capacity: Int) -> Storage {
            unsafeDowncast(create(minimumCapacity: capacity) { _ in 0 }, to: Storage.self)
        }

        /// The bytes (valid while this object is alive).
        var elements: UnsafeMutablePointer<UInt8> { withUnsafeMutablePointerToElements { $0 } }
    }

    var count: Int { storage.header }
    var isEmpty: Bool { storage.header == 0 }

    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try storage.withUnsafeMutablePointers { count, bytes in try body(UnsafeBufferPointer(start: bytes, count: count.pointee)) }
    }

    /// The text as an array (a copy).
    var bytes: [UInt8] { withBytes { Array($0) } }
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
