/// A request's `data` as parsed: most are an object whose members a reader looks up once or twice, kept as
/// those members in order (no dictionary made and hashed for them); any other value as a ``JSONValue``.
package enum RequestData: Sendable, Equatable {
    case members(JSONMembers)
    case value(JSONValue)

    /// An empty object: a request without `data`.
    package static let empty = RequestData.value(.object([:]))

    /// Parses JSON text as a request's `data` is parsed (an object kept as its members).
    package init(parsing bytes: [UInt8]) throws(JSONParseError) {
        switch try JSONParser.parseTopLevel(bytes) {
        case .object(let members): self = .members(members)
        case .other(let value): self = .value(value)
        }
    }

    /// The data as a ``JSONValue`` (an object's members in a dictionary, a repeated key's last value winning).
    package var json: JSONValue {
        switch self {
        case .members(let members): .object(members.dictionary)
        case .value(let value): value
        }
    }

    /// Member `key` of an object; nil when absent or when the data is not an object.
    package subscript(key: String) -> JSONValue? {
        switch self {
        case .members(let members): members[key]
        case .value(let value): value[key]
        }
    }

    /// The number of an object's members (a repeated key counted each time in members kept in order); nil
    /// when the data is not an object.
    package var memberCount: Int? {
        switch self {
        case .members(let members): members.count
        case .value(.object(let members)): members.count
        case .value: nil
        }
    }

    package static func == (lhs: RequestData, rhs: RequestData) -> Bool {
        lhs.json == rhs.json
    }
}
