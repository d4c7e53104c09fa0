import Foundation

/// Encodes an `Encodable` result straight to JSON text: the members of its top-level object, sorted by
/// key, ready to be spliced into a message after the envelope's own members. No ``JSONValue`` tree, no
/// dictionary per object: a search result with ten hits is written in one pass into one buffer.
///
/// It writes what ``JSONValueEncoder`` followed by ``JSONWriter`` writes, with one difference: members of
/// nested objects come in the order the value encodes them (the top level's are sorted). A value that
/// uses its containers in a way a single pass cannot follow (a `superEncoder`, a container used after a
/// later sibling was written, two values in one single-value container), or whose top level is not an
/// object, makes ``encodeMembers(_:)`` return nil: the caller then takes the tree path.
enum JSONStreamEncoder {
    /// The members of `value`'s top-level object as `"a":1,"b":[…]` (sorted by key; for a key written twice,
    /// the last value), or nil when the value must take the tree path.
    /// - Throws: ``EnvelopeFieldCollision`` for a top-level key the envelope uses; `EncodingError` as
    ///   `JSONEncoder` would (a non-finite number).
    /// `capacity`: the bytes to reserve at the start (a good guess spares the buffer's growth copies).
    static func encodeMembers(_ value: some Encodable, capacity: Int = EncodedSizeHint.defaultCapacity) throws -> [UInt8]? {
        try encodeMembersText(value, capacity: capacity)?.bytes
    }

    /// ``encodeMembers(_:capacity:)``'s text in the buffer it was written to.
    static func encodeMembersText(_ value: some Encodable, capacity: Int = EncodedSizeHint.defaultCapacity) throws -> JSONText? {
        let stream = JSONStream(capacity: capacity)
        let encoder = StreamEncoder(stream: stream, parent: nil, key: nil, isTopLevel: true)
        do {
            try value.encode(to: encoder)
            try stream.finishTopLevel()
        } catch is StreamingUnsupported {
            return nil
        }
        // `poisoned`: a use one pass cannot follow, even if the value caught the error it was given.
        guard encoder.state == .topLevelObject(serial: 0), !stream.poisoned else { return nil }
        return stream.sortedMembers()
    }
}

/// Thrown when a value uses its containers out of the order one pass can write.
private struct StreamingUnsupported: Error {}

/// A coding path as a link to its parent's: an array is built only when something asks for it (an error
/// message, a value that reads its `codingPath`), not for every value written.
private class CodingPathNode {
    let parent: CodingPathNode?
    let key: (any CodingKey)?

    init(parent: CodingPathNode?, key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    final var path: [any CodingKey] {
        var keys: [any CodingKey] = []
        var node: CodingPathNode? = self
        while let current = node {
            if let key = current.key { keys.append(key) }
            node = current.parent
        }
        return keys.reversed()
    }
}

/// The text being written and the containers open in it, innermost last.
private final class JSONStream {
    struct Frame {
        let serial: Int
        let isObject: Bool
        var count = 0
    }

    @exclusivity(unchecked) var writer: JSONWriter
    /// Set by any use one pass cannot follow: the whole value then takes the tree path.
    private(set) var poisoned = false
    /// Open containers; `frames[0]` is the top-level object, whose braces are not written.
    @exclusivity(unchecked) private(set) var frames: [Frame] = [Frame(serial: 0, isObject: true)]
    private var nextSerial = 1
    /// The top level's members: key and the range of `"key":value` in the text.
    private var members: [(key: String, range: Range<Int>)]
    private var memberStart: Int?
    private var reservedKeysSeen: [String] = []

    init(capacity: Int) {
        writer = JSONWriter(reservingCapacity: capacity)
        members = []
        members.reserveCapacity(8)
    }

    /// Records a use one pass cannot follow, and the error that reports it.
    func unsupported() -> StreamingUnsupported {
        poisoned = true
        return StreamingUnsupported()
    }

    /// An encoder for what `superEncoder()` returns: every use of it is unsupported.
    func unsupportedEncoder(parent: CodingPathNode, key: (any CodingKey)?) -> any Encoder {
        poisoned = true
        let encoder = StreamEncoder(stream: self, parent: parent, key: key, isTopLevel: false)
        encoder.state = .unsupported
        return encoder
    }

    /// Opens a nested container at the current position.
    func open(isObject: Bool) -> (serial: Int, depth: Int) {
        let serial = nextSerial
        nextSerial += 1
        writer.append(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
        frames.append(Frame(serial: serial, isObject: isObject))
        return (serial, frames.count - 1)
    }

    /// Closes the containers opened after depth `depth`.
    func close(downTo depth: Int) {
        while frames.count > depth + 1 {
            let frame = frames.removeLast()
            writer.append(frame.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    /// Makes the container `serial` at `depth` the innermost (closing those opened after it) and starts
    /// its next element: a comma unless it is the first.
    func beginElement(serial: Int, depth: Int) throws {
        guard depth < frames.count, frames[depth].serial == serial else { throw unsupported() }
        close(downTo: depth)
        if depth == 0 { endTopLevelMember() }
        if frames[depth].count > 0 { writer.append(UInt8(ascii: ",")) }
        if depth == 0 { memberStart = writer.count }
        frames[depth].count += 1
    }

    /// The number of elements the container `serial` at `depth` has (0 once it was closed).
    func count(serial: Int, depth: Int) -> Int {
        depth < frames.count && frames[depth].serial == serial ? frames[depth].count : 0
    }

    /// Starts `"key":` in the object `serial` at `depth`.
    func beginMember(_ key: String, serial: Int, depth: Int) throws {
        try beginElement(serial: serial, depth: depth)
        if depth == 0 {
            members.append((key, writer.count..<writer.count))
            if ServerMessage.isReserved(key) { reservedKeysSeen.append(key) }
        }
        writer.writeString(key)
        writer.append(UInt8(ascii: ":"))
    }

    private func endTopLevelMember() {
        guard let start = memberStart else { return }
        members[members.count - 1].range = start..<writer.count
        memberStart = nil
    }

    func finishTopLevel() throws {
        close(downTo: 0)
        endTopLevelMember()
        if !reservedKeysSeen.isEmpty { throw EnvelopeFieldCollision(fields: Set(reservedKeysSeen).sorted()) }
    }

    /// The top level's members sorted by key, the last of a repeated key kept, joined by commas.
    func sortedMembers() -> JSONText {
        // Already in order with no key twice (one member, or keys declared in order): the text as written.
        if zip(members, members.dropFirst()).allSatisfy({ $0.key < $1.key }) {
            // The stream is done with its writer: hand its buffer over (an empty one takes its place).
            var written = JSONWriter(reservingCapacity: 0)
            swap(&written, &writer)
            return written.takeText()
        }
        // Sorted by key, then by position: of a repeated key, the last one written is kept.
        var order = members.indices.sorted { (members[$0].key, $0) < (members[$1].key, $1) }
        order = order.indices.compactMap { position in
            let next = position + 1
            return next < order.count && members[order[next]].key == members[order[position]].key ? nil : order[position]
        }
        var result = JSONWriter(reservingCapacity: writer.count + order.count)
        writer.withBytes { text in
            for (position, index) in order.enumerated() {
                if position > 0 { result.append(UInt8(ascii: ",")) }
                result.append(UnsafeBufferPointer(rebasing: text[members[index].range]))
            }
        }
        return result.takeText()
    }

    /// Writes one value at the current position: leaves directly, anything else through its `encode(to:)`.
    func write<T: Encodable>(_ value: T, parent: CodingPathNode, key: any CodingKey) throws {
        if T.self == [String].self { return writer.writeStrings(unsafeBitCast(value, to: [String].self)) }
        if let plain = JSONValueEncoder.plainValue(value) { return writer.write(plain) }
        if let special = JSONValueEncoder.specialValue(value) {
            return writer.write(special)
        }
        let depth = frames.count - 1
        let start = writer.count
        let encoder = StreamEncoder(stream: self, parent: parent, key: key, isTopLevel: false)
        try value.encode(to: encoder)
        close(downTo: depth)
        // A value that encoded nothing is an empty object, as in the tree encoder.
        if writer.count == start { writer.append("{}") }
    }

    func writeNumber(_ value: Double, codingPath: @autoclosure () -> [any CodingKey]) throws {
        writer.write(try JSONValueEncoder.number(value, codingPath: value.isFinite ? [] : codingPath()))
    }

    /// A `Float` with the shortest digits that read back as it (as `JSONEncoder` writes one).
    func writeNumber(_ value: Float, codingPath: @autoclosure () -> [any CodingKey]) throws {
        guard value.isFinite else {
            _ = try JSONValueEncoder.number(value, codingPath: codingPath())
            return
        }
        writer.writeNumber(value)
    }
}

/// The encoder of one value being written into a ``JSONStream``.
private final class StreamEncoder: CodingPathNode, Encoder {
    enum State: Equatable {
        case unused
        case topLevelObject(serial: Int)
        case object(serial: Int, depth: Int)
        case array(serial: Int, depth: Int)
        case singleValue
        /// Used in a way one pass cannot write: every later write throws ``StreamingUnsupported``.
        case unsupported
    }

    let stream: JSONStream
    let isTopLevel: Bool
    var state = State.unused
    /// The depth of the container this value is written into (its single value goes there).
    let slotDepth: Int

    var codingPath: [any CodingKey] { path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(stream: JSONStream, parent: CodingPathNode?, key: (any CodingKey)?, isTopLevel: Bool) {
        self.stream = stream
        self.isTopLevel = isTopLevel
        slotDepth = stream.frames.count - 1
        super.init(parent: parent, key: key)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch state {
        case .unused:
            if isTopLevel {
                state = .topLevelObject(serial: 0)
            } else if stream.frames.count - 1 == slotDepth {
                let (serial, depth) = stream.open(isObject: true)
                state = .object(serial: serial, depth: depth)
            } else {
                state = .unsupported
            }
        case .topLevelObject, .object:
            break  // a second request for the same object (a subclass after its superclass)
        case .array, .singleValue, .unsupported:
            state = .unsupported
        }
        if case .unsupported = state { _ = stream.unsupported() }
        let target: (serial: Int, depth: Int)
        switch state {
        case .topLevelObject(let serial): target = (serial, 0)
        case .object(let serial, let depth): target = (serial, depth)
        default: target = (-1, -1)
        }
        return KeyedEncodingContainer(
            StreamKeyedContainer<Key>(stream: stream, serial: target.serial, depth: target.depth, node: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unused = state, !isTopLevel, stream.frames.count - 1 == slotDepth {
            let (serial, depth) = stream.open(isObject: false)
            state = .array(serial: serial, depth: depth)
        } else if case .array = state {
            // the same array again
        } else {
            state = .unsupported
            _ = stream.unsupported()
        }
        guard case .array(let serial, let depth) = state else {
            return StreamUnkeyedContainer(stream: stream, serial: -1, depth: -1, node: self)
        }
        return StreamUnkeyedContainer(stream: stream, serial: serial, depth: depth, node: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        StreamSingleValueContainer(encoder: self)
    }

    /// Claims this value's slot for a single value; throws if it is taken or the stream has moved on.
    func claimSingleValue() throws {
        guard case .unused = state, !isTopLevel, stream.frames.count - 1 == slotDepth else {
            state = .unsupported
            throw stream.unsupported()
        }
        state = .singleValue
    }
}

private struct StreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let stream: JSONStream
    let serial: Int
    let depth: Int
    /// This object's coding path.
    let node: CodingPathNode

    var codingPath: [any CodingKey] { node.path }

    private func begin(_ key: Key) throws {
        guard serial >= 0 else { throw stream.unsupported() }
        try stream.beginMember(key.stringValue, serial: serial, depth: depth)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        stream.writer.write(.null)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try begin(key)
        stream.writer.write(.bool(value))
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try begin(key)
        stream.writer.writeString(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try begin(key)
        try stream.writeNumber(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try begin(key)
        try stream.writeNumber(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(Double(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(Double(value), key) }

    private func integer(_ value: Double, _ key: Key) throws {
        try begin(key)
        stream.writer.write(.number(value))
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try stream.write(value, parent: node, key: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = CodingPathNode(parent: node, key: key)
        guard (try? begin(key)) != nil else {
            return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, serial: -1, depth: -1, node: nested))
        }
        let (serial, depth) = stream.open(isObject: true)
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, serial: serial, depth: depth, node: nested))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = CodingPathNode(parent: node, key: key)
        guard (try? begin(key)) != nil else {
            return StreamUnkeyedContainer(stream: stream, serial: -1, depth: -1, node: nested)
        }
        let (serial, depth) = stream.open(isObject: false)
        return StreamUnkeyedContainer(stream: stream, serial: serial, depth: depth, node: nested)
    }

    mutating func superEncoder() -> any Encoder { stream.unsupportedEncoder(parent: node, key: nil) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { stream.unsupportedEncoder(parent: node, key: key) }
}

private struct StreamUnkeyedContainer: UnkeyedEncodingContainer {
    let stream: JSONStream
    let serial: Int
    let depth: Int
    /// This array's coding path.
    let node: CodingPathNode

    var codingPath: [any CodingKey] { node.path }
    var count: Int { serial >= 0 ? stream.count(serial: serial, depth: depth) : 0 }

    private var nextKey: IndexKey { IndexKey(count) }

    private func begin() throws {
        guard serial >= 0 else { throw stream.unsupported() }
        try stream.beginElement(serial: serial, depth: depth)
    }

    mutating func encodeNil() throws {
        try begin()
        stream.writer.write(.null)
    }
    mutating func encode(_ value: Bool) throws {
        try begin()
        stream.writer.write(.bool(value))
    }
    mutating func encode(_ value: String) throws {
        try begin()
        stream.writer.writeString(value)
    }
    mutating func encode(_ value: Double) throws {
        let key = nextKey
        try begin()
        try stream.writeNumber(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Float) throws {
        let key = nextKey
        try begin()
        try stream.writeNumber(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Int) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int8) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int16) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int32) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int64) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt8) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt16) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt32) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt64) throws { try integer(Double(value)) }

    private func integer(_ value: Double) throws {
        try begin()
        stream.writer.write(.number(value))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let key = nextKey
        try begin()
        try stream.write(value, parent: node, key: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = CodingPathNode(parent: node, key: nextKey)
        guard (try? begin()) != nil else {
            return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, serial: -1, depth: -1, node: nested))
        }
        let (serial, depth) = stream.open(isObject: true)
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, serial: serial, depth: depth, node: nested))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = CodingPathNode(parent: node, key: nextKey)
        guard (try? begin()) != nil else {
            return StreamUnkeyedContainer(stream: stream, serial: -1, depth: -1, node: nested)
        }
        let (serial, depth) = stream.open(isObject: false)
        return StreamUnkeyedContainer(stream: stream, serial: serial, depth: depth, node: nested)
    }

    mutating func superEncoder() -> any Encoder { stream.unsupportedEncoder(parent: node, key: nextKey) }
}

private struct StreamSingleValueContainer: SingleValueEncodingContainer {
    let encoder: StreamEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var stream: JSONStream { encoder.stream }

    mutating func encodeNil() throws {
        try encoder.claimSingleValue()
        stream.writer.write(.null)
    }
    mutating func encode(_ value: Bool) throws {
        try encoder.claimSingleValue()
        stream.writer.write(.bool(value))
    }
    mutating func encode(_ value: String) throws {
        try encoder.claimSingleValue()
        stream.writer.writeString(value)
    }
    mutating func encode(_ value: Double) throws {
        try encoder.claimSingleValue()
        try stream.writeNumber(value, codingPath: codingPath)
    }
    mutating func encode(_ value: Float) throws {
        try encoder.claimSingleValue()
        try stream.writeNumber(value, codingPath: codingPath)
    }
    mutating func encode(_ value: Int) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int8) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int16) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int32) throws { try integer(Double(value)) }
    mutating func encode(_ value: Int64) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt8) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt16) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt32) throws { try integer(Double(value)) }
    mutating func encode(_ value: UInt64) throws { try integer(Double(value)) }

    private func integer(_ value: Double) throws {
        try encoder.claimSingleValue()
        stream.writer.write(.number(value))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.claimSingleValue()
        // The value takes this slot (only nested encoders, which have a parent and a key, get here).
        guard let parent = encoder.parent, let key = encoder.key else { throw stream.unsupported() }
        try stream.write(value, parent: parent, key: key)
    }
}
