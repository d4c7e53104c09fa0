import Foundation

/// Encodes an `Encodable` value straight into a ``JSONValue`` tree: what `JSONEncoder` followed by
/// parsing its output would give (dates as ISO 8601 strings, `Data` as base64, URLs as their
/// absolute string, non-finite numbers refused), without the text in between.
enum JSONValueEncoder {
    static func encode(_ value: some Encodable) throws -> JSONValue {
        if let special = specialValue(value) { return special }
        let encoder = NodeEncoder(codingPath: [])
        try value.encode(to: encoder)
        return encoder.node.value
    }

    /// How dates are written: `JSONEncoder`'s `.iso8601` strategy (`2026-12-04T19:05:42Z`).
    static let iso8601 = Date.ISO8601FormatStyle()

    /// Types `JSONEncoder` writes in a form of its own.
    static func specialValue<T: Encodable>(_ value: T) -> JSONValue? {
        // Type identity first: most values are none of these, and a dynamic cast per type costs more.
        guard T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Decimal.self
            || T.self == JSONValue.self
        else { return nil }
        switch value {
        case let date as Date: return .string(iso8601.format(date))
        case let data as Data: return .string(data.base64EncodedString())
        case let url as URL: return .string(url.absoluteString)
        case let decimal as Decimal: return .number(NSDecimalNumber(decimal: decimal).doubleValue)
        case let json as JSONValue: return json
        default: return nil
        }
    }

    /// The common leaf types, recognised by type identity (no dynamic cast, no nested encoder, no coding
    /// path): strings, integers, finite floating-point numbers, booleans, and arrays of strings.
    static func plainValue<T: Encodable>(_ value: T) -> JSONValue? {
        if T.self == String.self { return .string(unsafeBitCast(value, to: String.self)) }
        if T.self == Int.self { return .number(Double(unsafeBitCast(value, to: Int.self))) }
        if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == Double.self {
            let number = unsafeBitCast(value, to: Double.self)
            return number.isFinite ? .number(number) : nil  // the general path throws with the coding path
        }
        if T.self == [String].self { return .array(unsafeBitCast(value, to: [String].self).map { .string($0) }) }
        return nil
    }

    static func number(_ value: Double, codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "\(value) is not a valid JSON number"))
        }
        return .number(value)
    }

    /// A `Float` as the number its shortest digits name (`Float(0.1)` is `0.1`, as `JSONEncoder` writes it,
    /// not the `0.10000000149011612` of the `Double` it widens to).
    static func number(_ value: Float, codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "\(value) is not a valid JSON number"))
        }
        return .number(Double(value.description) ?? Double(value))
    }
}


/// A value being built: containers add members to it in place.
private final class Node {
    enum Content {
        case empty
        case value(JSONValue)
        case object([String: Node])
        case array([Node])
    }

    var content: Content = .empty

    var value: JSONValue {
        switch content {
        case .empty: .object([:])
        case .value(let value): value
        case .object(let members): .object(members.mapValues(\.value))
        case .array(let elements): .array(elements.map(\.value))
        }
    }

    func makeObject() {
        if case .object = content { return }
        content = .object([:])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }

    func set(_ key: String, _ node: Node) {
        guard case .object(var members) = content else { return }
        content = .empty
        members[key] = node
        content = .object(members)
    }

    func append(_ node: Node) {
        guard case .array(var elements) = content else { return }
        content = .empty
        elements.append(node)
        content = .array(elements)
    }

    var count: Int {
        if case .array(let elements) = content { return elements.count }
        return 0
    }

    static func leaf(_ value: JSONValue) -> Node {
        let node = Node()
        node.content = .value(value)
        return node
    }
}

/// The key `superEncoder()` writes under, whatever the container's own keys.
private struct AnyKey: CodingKey {
    static let `super` = AnyKey(stringValue: "super")
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private final class NodeEncoder: Encoder {
    let codingPath: [any CodingKey]
    let node: Node
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(codingPath: [any CodingKey], node: Node = Node()) {
        self.codingPath = codingPath
        self.node = node
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }

    /// Encodes `value` into a new node at `path`.
    static func encode(_ value: some Encodable, at path: [any CodingKey]) throws -> Node {
        if let special = JSONValueEncoder.specialValue(value) { return .leaf(special) }
        let encoder = NodeEncoder(codingPath: path)
        try value.encode(to: encoder)
        return encoder.node
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    private func set(_ key: Key, _ value: JSONValue) { node.set(key.stringValue, .leaf(value)) }

    mutating func encodeNil(forKey key: Key) throws { set(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(key, try JSONValueEncoder.number(value, codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(key, try JSONValueEncoder.number(value, codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(key, .number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let plain = JSONValueEncoder.plainValue(value) { return set(key, plain) }
        node.set(key.stringValue, try NodeEncoder.encode(value, at: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.makeObject()
        node.set(key.stringValue, child)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        child.makeArray()
        node.set(key.stringValue, child)
        return UnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: AnyKey.super) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: any CodingKey) -> any Encoder {
        let child = Node()
        node.set(key.stringValue, child)
        return NodeEncoder(codingPath: codingPath + [key], node: child)
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(count)] }
    private func add(_ value: JSONValue) { node.append(.leaf(value)) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(try JSONValueEncoder.number(value, codingPath: nextPath)) }
    mutating func encode(_ value: Float) throws { add(try JSONValueEncoder.number(value, codingPath: nextPath)) }
    mutating func encode(_ value: Int) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int8) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt8) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { add(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let plain = JSONValueEncoder.plainValue(value) { return add(plain) }
        node.append(try NodeEncoder.encode(value, at: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.makeObject()
        let path = nextPath
        node.append(child)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Node()
        child.makeArray()
        let path = nextPath
        node.append(child)
        return UnkeyedContainer(node: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        let path = nextPath
        node.append(child)
        return NodeEncoder(codingPath: path, node: child)
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue) { node.content = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try JSONValueEncoder.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { set(try JSONValueEncoder.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Int) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int8) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt8) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { set(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let encoded = try NodeEncoder.encode(value, at: codingPath)
        node.content = encoded.content
    }
}
