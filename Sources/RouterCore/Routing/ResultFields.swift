import Synchronization

/// The members of a result or a chunk: either already written as JSON text (what a typed handler's
/// response becomes, see ``JSONStreamEncoder``), or values (a dynamic operation's, or a response the
/// one-pass encoder could not follow). The session splices the text into the message as it is.
package struct ResultFields: Sendable, Equatable {
    private enum Storage: Sendable {
        /// `"a":1,"b":[…]`: sorted by key, no envelope key, no braces (empty for no members).
        case text(JSONText)
        case values([String: JSONValue])
    }

    private let storage: Storage

    package init(_ values: [String: JSONValue]) {
        storage = .values(values)
    }

    private init(text: JSONText) {
        storage = .text(text)
    }

    /// `value`'s fields: a JSON object's members, anything else under `value`.
    /// - Throws: ``EnvelopeFieldCollision`` for a field the envelope uses; `EncodingError` as `JSONEncoder`.
    /// `sizeHint`, when given, supplies the buffer's starting size and learns the size written.
    package static func encode(_ value: some Encodable, sizeHint: EncodedSizeHint? = nil) throws -> ResultFields {
        // A JSON value (an external plugin's chunk) is a tree already.
        if value is JSONValue { return ResultFields(try ResultEncoding.fields(of: value)) }
        if let writable = value as? any JSONMembersWritable, let fields = written(writable, sizeHint: sizeHint) { return fields }
        return try encodedThroughEncodable(value, sizeHint: sizeHint)
    }

    /// `value` through its `Encodable` conformance: in one pass when ``JSONStreamEncoder`` can follow it,
    /// else through the tree.
    private static func encodedThroughEncodable(_ value: some Encodable, sizeHint: EncodedSizeHint?) throws -> ResultFields {
        if let text = try JSONStreamEncoder.encodeMembersText(value, capacity: sizeHint?.capacity ?? EncodedSizeHint.defaultCapacity) {
            sizeHint?.record(text.count)
            return ResultFields(text: text)
        }
        return ResultFields(try ResultEncoding.fields(of: value))
    }

    /// How values of `Value` are encoded, chosen once for the type rather than by casts for each value:
    /// through ``JSONMembersWritable`` when it conforms, else as ``encode(_:sizeHint:)``.
    static func encoder<Value: Encodable & Sendable>(for _: Value.Type) -> @Sendable (Value, EncodedSizeHint?) throws -> ResultFields {
        func writing<Writable: JSONMembersWritable>(_: Writable.Type) -> @Sendable (Value, EncodedSizeHint?) throws -> ResultFields {
            precondition(Writable.self == Value.self)
            return { value, sizeHint in
                try written(unsafeBitCast(value, to: Writable.self), sizeHint: sizeHint)
                    ?? encodedThroughEncodable(value, sizeHint: sizeHint)
            }
        }
        guard let writable = Value.self as? any JSONMembersWritable.Type else { return { try encode($0, sizeHint: $1) } }
        return writing(writable)
    }

    /// The fields `value` writes itself, or nil when it leaves itself to `Encodable` (see ``JSONMembersWritable``).
    private static func written(_ value: some JSONMembersWritable, sizeHint: EncodedSizeHint?) -> ResultFields? {
        guard let text = JSONMembersWriter.text(of: value, capacity: sizeHint?.capacity ?? EncodedSizeHint.defaultCapacity) else {
            return nil
        }
        sizeHint?.record(text.count)
        return ResultFields(text: text)
    }

    /// About how many bytes ``writeMembers(into:)`` writes (exact for text).
    var estimatedByteCount: Int {
        switch storage {
        case .text(let text): text.count + 1
        case .values(let values): 64 * values.count
        }
    }

    /// The fields as values (parsed back from the text if need be: tests and benchmarks, never the session).
    package var values: [String: JSONValue] {
        switch storage {
        case .values(let values):
            return values
        case .text(let text):
            guard case .object(let members)? = try? JSONParser.parse([UInt8(ascii: "{")] + text.bytes + [UInt8(ascii: "}")]) else {
                preconditionFailure("JSONStreamEncoder wrote text that does not parse as an object's members")
            }
            return members
        }
    }

    /// The members' text when they are written already (`"a":1,"b":[…]`, no braces), else nil.
    var membersText: JSONText? {
        if case .text(let text) = storage { return text }
        return nil
    }

    /// Writes `,"key":value` for each field, sorted by key, leaving out the envelope's own keys.
    func writeMembers(into writer: inout JSONWriter) {
        switch storage {
        case .text(let text):
            guard !text.isEmpty else { return }
            writer.append(UInt8(ascii: ","))
            writer.append(text)
        case .values(let values):
            for key in values.keys.sorted() where !ServerMessage.isReserved(key) {
                writer.append(UInt8(ascii: ","))
                writer.writeString(key)
                writer.append(UInt8(ascii: ":"))
                writer.write(values[key]!)
            }
        }
    }

    package static func == (lhs: ResultFields, rhs: ResultFields) -> Bool {
        lhs.values == rhs.values
    }
}

/// The size of an operation's last encoded result, as the starting size of the next one's buffer: results
/// of one operation tend to be alike, and a buffer grown by doubling copies itself each time.
package final class EncodedSizeHint: Sendable {
    private let lastSize = Atomic(0)

    /// The starting size when no earlier result is known.
    static let defaultCapacity = 1024

    package init() {}

    /// Bytes to reserve: the last size and a little more, at least 256 and at most 1 MiB.
    var capacity: Int { min(max(lastSize.load(ordering: .relaxed) + 64, 256), 1 << 20) }

    func record(_ size: Int) { lastSize.store(size, ordering: .relaxed) }
}
