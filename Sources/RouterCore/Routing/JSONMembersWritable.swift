/// A result that writes its own top-level members as JSON text, without going through `Encoder`: the fast
/// path for a response sent tens of thousands of times a second (a search's results).
///
/// What ``writeMembers(to:)`` writes must be byte for byte what the value's `Encodable` conformance encodes
/// (top-level members sorted by key, nested objects' members in the order `encode(to:)` writes them):
/// ``JSONMembersWriter/codableText(of:)`` gives that text for a test to compare with. A value the writer
/// cannot write exactly as `Encodable` would (a non-finite number, a key the envelope uses) is encoded
/// through `Encodable` instead, which reports the error.
package protocol JSONMembersWritable: Encodable, Sendable {
    /// Writes the members, top-level keys in ascending order.
    func writeMembers(to writer: inout JSONMembersWriter)
}

/// Writes an object's members as JSON text (`"a":1,"b":[…]`, no braces at the top level), in the order
/// they are written, for ``JSONMembersWritable``.
package struct JSONMembersWriter: ~Copyable {
    fileprivate var json: JSONWriter
    /// No member was written yet in the innermost object.
    private var isFirst = true
    /// Objects opened by ``member(_:objectCount:_:)`` (0: the top level).
    private var depth = 0
    /// Something was written that `Encodable` would have written otherwise or refused.
    fileprivate private(set) var failed = false

    fileprivate init(capacity: Int) {
        json = JSONWriter(reservingCapacity: capacity)
    }

    /// `"key":"value"`.
    package mutating func member(_ key: StaticString, _ value: String) {
        begin(key)
        json.writeString(value)
    }

    /// `"key":"value"` for a value the caller knows needs no escaping (no control character, `"` or `\`):
    /// written as it is, without the scan for those bytes.
    package mutating func member(_ key: StaticString, unescaped value: String) {
        begin(key)
        JSONWriter.withUTF8(value) { json.writeUnescapedString(utf8: $0) }
    }

    /// `"key":"value"`, the value given as UTF-8 (which it must be: it is not checked).
    package mutating func member(_ key: StaticString, utf8 value: UnsafeBufferPointer<UInt8>) {
        begin(key)
        json.writeString(utf8: value)
    }

    /// `"key":["a","b"]`, each string handed over as UTF-8 by `produce`, which calls its argument once per
    /// string, in order (the strings need not exist as `String`s).
    /// `unescaped`: the caller knows no string needs escaping (see ``member(_:unescaped:)``).
    package mutating func member(
        _ key: StaticString, unescaped: Bool = false,
        utf8Strings produce: (_ write: (UnsafeBufferPointer<UInt8>) -> Void) -> Void
    ) {
        begin(key)
        json.append(UInt8(ascii: "["))
        var isFirstString = true
        produce { utf8 in
            if !isFirstString { json.append(UInt8(ascii: ",")) }
            isFirstString = false
            if unescaped {
                json.writeUnescapedString(utf8: utf8)
            } else {
                json.writeString(utf8: utf8)
            }
        }
        json.append(UInt8(ascii: "]"))
    }

    /// `"key":value`, the value written elsewhere as JSON text (`"m1"`, `["a","b"]`), copied as it is. The
    /// caller vouches that it is what `Encodable` writes for that value.
    package mutating func member(_ key: StaticString, json value: UnsafeBufferPointer<UInt8>) {
        begin(key)
        json.append(value)
    }

    /// `"key":value`, written as `Encodable` writes an `Int` (through `Double`).
    package mutating func member(_ key: StaticString, _ value: Int) {
        begin(key)
        json.writeNumber(Double(value))
    }

    /// `"key":value`; a non-finite value (which JSON cannot carry) sends the whole value through `Encodable`,
    /// which throws its error.
    package mutating func member(_ key: StaticString, _ value: Double) {
        begin(key)
        if !value.isFinite { failed = true }
        json.writeNumber(value)
    }

    /// `"key":value` with the shortest digits that read back as this `Float` (as `Encodable` writes a
    /// `Float`); a non-finite value sends the whole value through `Encodable`, which throws its error.
    package mutating func member(_ key: StaticString, _ value: Float) {
        begin(key)
        if !value.isFinite { failed = true }
        json.writeNumber(value)
    }

    /// `"key":["a","b"]`.
    package mutating func member(_ key: StaticString, _ values: [String]) {
        begin(key)
        json.writeStrings(values)
    }

    /// `"key":[{…},{…}]`: `count` objects, the members of the one at each index written by `writeElement`.
    /// (By index rather than over a sequence: a plugin's call is not specialized across modules.)
    package mutating func member(
        _ key: StaticString, objectCount count: Int, _ writeElement: (inout JSONMembersWriter, Int) -> Void
    ) {
        begin(key)
        json.append(UInt8(ascii: "["))
        depth += 1
        for index in 0..<count {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(UInt8(ascii: "{"))
            isFirst = true
            writeElement(&self, index)
            json.append(UInt8(ascii: "}"))
        }
        depth -= 1
        isFirst = false
        json.append(UInt8(ascii: "]"))
    }

    /// A comma unless first, then `"key":`.
    private mutating func begin(_ key: StaticString) {
        let comma = !isFirst
        isFirst = false
        // `Encodable` would throw EnvelopeFieldCollision for the envelope's keys; let it.
        if depth == 0, key.withUTF8Buffer({ ServerMessage.isReserved(String(decoding: $0, as: UTF8.self)) }) { failed = true }
        json.reserve(key.utf8CodeUnitCount + 4)
        if comma { json.append(UInt8(ascii: ",")) }
        json.append(UInt8(ascii: "\""))
        json.append(key)
        json.append(UInt8(ascii: "\""))
        json.append(UInt8(ascii: ":"))
        assert(!key.withUTF8Buffer { $0.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } }, "a key that needs escaping")
    }

    /// `value`'s members as written by ``JSONMembersWritable/writeMembers(to:)``, or nil when it must be
    /// encoded through `Encodable` (see ``failed``).
    static func text(of value: some JSONMembersWritable, capacity: Int) -> JSONText? {
        var writer = JSONMembersWriter(capacity: capacity)
        value.writeMembers(to: &writer)
        return writer.failed ? nil : writer.json.takeText()
    }

    /// The text `value`'s `Encodable` conformance gives (what ``JSONMembersWritable/writeMembers(to:)``
    /// must write), or nil when it takes the tree path; for tests.
    package static func codableText(of value: some Encodable) throws -> String? {
        try JSONStreamEncoder.encodeMembers(value).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The text ``JSONMembersWritable/writeMembers(to:)`` writes, or nil when it falls back to `Encodable`;
    /// for tests.
    package static func writtenText(of value: some JSONMembersWritable) -> String? {
        text(of: value, capacity: 256).map { String(decoding: $0.bytes, as: UTF8.self) }
    }
}
