/// A request that reads itself from the parsed `data`, without going through `Decoder`: the fast path for a
/// request that arrives tens of thousands of times a second (a search).
///
/// ``init(data:)`` reads the common, well-formed shapes and returns nil for anything else: the request is
/// then decoded through `Decodable`, which also reports what is wrong (with its path). Whatever it returns
/// must equal what `Decodable` decodes from the same `data`.
package protocol JSONValueReadable: Decodable, Sendable {
    /// The request read from `data`, or nil to decode it through `Decodable`.
    init?(data: RequestData)
}

extension JSONValue {
    /// This value (a request's `data`) decoded through `Decodable`, as when ``JSONValueReadable/init(data:)``
    /// returns nil: what the fast path must agree with; for tests.
    package func decodedThroughDecodable<T: Decodable>(_ type: T.Type) throws -> T {
        try decode(type, rootName: "data")
    }
}
