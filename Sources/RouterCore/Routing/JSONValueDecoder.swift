import Foundation

/// A request's `data` (or a plugin's options) that did not decode into the expected type.
///
/// `path` is the JSON path that failed, rooted at the name given to the decoder (`data.limit`,
/// `data.entries[2].text`); `reason` says what was wrong (`expected integer, found string`,
/// `missing`). ``description`` joins them: `data.limit: expected integer, found string`.
public struct JSONDecodingFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

extension JSONValue {
    /// Decodes this value into `type` and reports failures with the JSON path rooted at `rootName`.
    ///
    /// Integers must be integral and in range, `Date` accepts ISO 8601 strings (or seconds since
    /// 1970). Errors thrown by the type's own `init(from:)` that are not `DecodingError` pass through
    /// unchanged (so a handler may throw a ``ClientFacingError`` while decoding).
    func decode<T: Decodable>(_ type: T.Type, rootName: String) throws -> T {
        do {
            let decoder = JSONValueDecoder(value: self, codingPath: [])
            return try decoder.decodeValue(T.self)
        } catch let error as DecodingError {
            throw JSONDecodingFailure(error, root: self, rootName: rootName)
        }
    }

    /// The value at a coding path, if present.
    func value(at path: [any CodingKey]) -> JSONValue? {
        var current: JSONValue? = self
        for key in path {
            switch current {
            case .object(let members)?: current = members[key.stringValue]
            case .array(let elements)?:
                guard let index = key.intValue, elements.indices.contains(index) else { return nil }
                current = elements[index]
            default: return nil
            }
        }
        return current
    }

    /// How a found value is named in error messages: the type, or the literal for short scalars.
    var foundDescription: String {
        switch self {
        case .number(let number):
            var writer = JSONWriter()
            writer.writeNumber(number)
            return String(decoding: writer.bytes, as: UTF8.self)
        default: return typeName
        }
    }
}

extension JSONDecodingFailure {
    /// Formats a coding path as `root.key[3].other`.
    static func format(_ path: [any CodingKey], rootName: String) -> String {
        var text = rootName
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    init(_ error: DecodingError, root: JSONValue, rootName: String) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: Self.format(context.codingPath + [key], rootName: rootName), reason: "missing")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            self.init(path: Self.format(context.codingPath, rootName: rootName), reason: context.debugDescription)
        case .dataCorrupted(let context):
            let path = Self.format(context.codingPath, rootName: rootName)
            if context.debugDescription.hasPrefix("Cannot initialize ") {
                // The standard library's RawRepresentable message names Swift types: say it in JSON terms.
                let found = root.value(at: context.codingPath).map { $0.jsonText } ?? "value"
                self.init(path: path, reason: "invalid value \(found)")
            } else {
                self.init(path: path, reason: context.debugDescription)
            }
        @unknown default:
            self.init(path: rootName, reason: "invalid value")
        }
    }
}

/// The keys a decoded type read from the top-level object, in order of first reading.
final class KeyLog: @unchecked Sendable {  // used by one decoding, on one thread
    private(set) var keys: [String] = []

    func read(_ key: String) {
        if !keys.contains(key) { keys.append(key) }
    }
}

extension JSONValue {
    /// Decodes an object into `type` and also returns the top-level keys `type` read while decoding.
    func decodeRecordingKeys<T: Decodable>(_ type: T.Type, rootName: String) throws -> (T, [String]) {
        let log = KeyLog()
        do {
            let value = try T(from: JSONValueDecoder(value: self, codingPath: [], keyLog: log))
            return (value, log.keys)
        } catch let error as DecodingError {
            throw JSONDecodingFailure(error, root: self, rootName: rootName)
        }
    }
}

/// A `Decoder` over ``JSONValue`` whose errors carry JSON-oriented messages.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    /// Records the top-level keys the decoded type reads (to find keys it does not know).
    var keyLog: KeyLog? = nil
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch(expected: "object", found: value, path: codingPath)
        }
        return KeyedDecodingContainer(
            KeyedContainer<Key>(members: members, codingPath: codingPath, keyLog: codingPath.isEmpty ? keyLog : nil))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch(expected: "array", found: value, path: codingPath)
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        try SingleContainer(value: value, codingPath: codingPath).decode(type)
    }
}

private func mismatch(expected: String, found: JSONValue, path: [any CodingKey]) -> DecodingError {
    if case .null = found {
        return .valueNotFound(Any.self, .init(codingPath: path, debugDescription: "expected \(expected), found null"))
    }
    return .typeMismatch(Any.self, .init(codingPath: path, debugDescription: "expected \(expected), found \(found.foundDescription)"))
}

/// The coding key of an array element, for the decoder's and both encoders' coding paths.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    let keyLog: KeyLog?

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool {
        keyLog?.read(key.stringValue)
        return members[key.stringValue] != nil
    }

    private func child(_ key: Key) throws -> JSONValue {
        keyLog?.read(key.stringValue)
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try child(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try SingleContainer(value: try child(key), parentPath: codingPath, key: key).decode(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try present(key).map { try $0.decode(type) }
    }

    // The common scalars without the generic path: these are what requests are mostly made of.
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try SingleContainer(value: try child(key), parentPath: codingPath, key: key).decode(type)
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try SingleContainer(value: try child(key), parentPath: codingPath, key: key).decode(type)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try SingleContainer(value: try child(key), parentPath: codingPath, key: key).decode(type)
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try SingleContainer(value: try child(key), parentPath: codingPath, key: key).decode(type)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try present(key).map { try $0.decode(type) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try present(key).map { try $0.decode(type) }
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try present(key).map { try $0.decode(type) }
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try present(key).map { try $0.decode(type) }
    }

    /// The member `key` unless it is absent or null.
    private func present(_ key: Key) -> SingleContainer? {
        keyLog?.read(key.stringValue)
        guard let value = members[key.stringValue] else { return nil }
        if case .null = value { return nil }
        return SingleContainer(value: value, parentPath: codingPath, key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try JSONValueDecoder(value: try child(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoder(value: try child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONValueDecoder(value: .object(members), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        keyLog?.read(key.stringValue)
        return JSONValueDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The next element, with its coding path built only if something asks for it (an error).
    private mutating func next() throws -> SingleContainer {
        let element = SingleContainer(
            value: isAtEnd ? .null : elements[currentIndex], parentPath: codingPath, key: IndexKey(currentIndex))
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self,
                .init(codingPath: element.codingPath, debugDescription: "missing (array has \(elements.count) elements)"))
        }
        currentIndex += 1
        return element
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = elements[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
    // The common scalars without the generic path (an embedding is thousands of floats).
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().decoder.container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().decoder.unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next().decoder }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    /// The coding path, kept as the parent's path and this value's key until something asks for it:
    /// decoding a scalar that is valid (nearly always) builds no array.
    private let parentPath: [any CodingKey]
    private let key: (any CodingKey)?

    init(value: JSONValue, codingPath: [any CodingKey]) {
        self.value = value
        self.parentPath = codingPath
        self.key = nil
    }

    init(value: JSONValue, parentPath: [any CodingKey], key: any CodingKey) {
        self.value = value
        self.parentPath = parentPath
        self.key = key
    }

    var codingPath: [any CodingKey] { key.map { parentPath + [$0] } ?? parentPath }

    /// A decoder for a nested value (its path is built now: the nested type may ask for it at any time).
    var decoder: JSONValueDecoder { JSONValueDecoder(value: value, codingPath: codingPath) }

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(expected: "boolean", found: value, path: codingPath) }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let text) = value else { throw mismatch(expected: "string", found: value, path: codingPath) }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let number) = value else { throw mismatch(expected: "number", found: value, path: codingPath) }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard case .number(let number) = value, number == number.rounded() else {
            throw mismatch(expected: "integer", found: value, path: codingPath)
        }
        guard let result = I(exactly: number) else {
            throw DecodingError.typeMismatch(
                I.self,
                .init(
                    codingPath: codingPath,
                    debugDescription: "expected integer between \(I.min) and \(I.max), found \(value.foundDescription)"))
        }
        return result
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // Metatype comparisons (a pointer each), not dynamic casts.
        if T.self == String.self { return try decode(String.self) as! T }
        if T.self == Int.self { return try decode(Int.self) as! T }
        if T.self == Double.self { return try decode(Double.self) as! T }
        if T.self == Float.self { return try decode(Float.self) as! T }
        if T.self == Bool.self { return try decode(Bool.self) as! T }
        if T.self == JSONValue.self { return value as! T }
        if T.self == Date.self { return try decodeDate() as! T }
        return try T(from: decoder)
    }

    private func decodeDate() throws -> Date {
        switch value {
        case .number(let seconds): return Date(timeIntervalSince1970: seconds)
        case .string(let text):
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "expected an ISO 8601 date, found \"\(text)\""))
        default:
            throw mismatch(expected: "ISO 8601 date string", found: value, path: codingPath)
        }
    }
}
