/// An inbound client message (DESIGN §4), validated.
enum ClientMessage: Equatable {
    /// An operation request; `id` is nil when the client sent none (the session assigns one).
    case request(type: String, id: String?, data: RequestData, timeout: Duration?)
    case cancel(id: String)
    /// App-level ping; `id` is echoed in the `pong` when present.
    case ping(id: JSONValue?)
    /// Continue session `session` after the last message the client saw (`lastSeq`).
    case resume(session: String, token: String, lastSeq: UInt64)
    /// The client has every message up to `seq`.
    case ack(seq: UInt64)

    /// A message the session answers with `bad_request`; `id`/`op` are set when the message carried them.
    struct Invalid: Error, Equatable {
        var message: String
        var id: String?
        var op: String?
    }

    static func parse(_ bytes: [UInt8]) -> Result<ClientMessage, Invalid> {
        let members: JSONMembers
        do {
            switch try JSONParser.parseTopLevel(bytes, nestedKey: "data") {
            case .object(let object): members = object
            case .other(let root): return .failure(Invalid(message: "message must be a JSON object, found \(root.typeName)"))
            }
        } catch {
            return .failure(Invalid(message: error.description))
        }
        var stringID: String?
        if case .string(let id)? = members["id"] { stringID = id }
        guard let typeValue = members["type"] else {
            return .failure(Invalid(message: "missing \"type\"", id: stringID))
        }
        guard case .string(let type) = typeValue else {
            return .failure(Invalid(message: "\"type\" must be a string, found \(typeValue.typeName)", id: stringID))
        }
        func invalid(_ message: String) -> Result<ClientMessage, Invalid> {
            .failure(Invalid(message: message, id: stringID, op: type))
        }
        switch type {
        case "ping":
            return .success(.ping(id: members["id"]))
        case "cancel":
            guard let idValue = members["id"] else { return invalid("cancel: missing \"id\"") }
            guard case .string(let id) = idValue else {
                return invalid("cancel: \"id\" must be a string, found \(idValue.typeName)")
            }
            return .success(.cancel(id: id))
        case "resume":
            var strings: [String] = []
            for key in ["session", "token"] {
                guard let value = members[key] else { return invalid("resume: missing \"\(key)\"") }
                guard case .string(let string) = value else {
                    return invalid("resume: \"\(key)\" must be a string, found \(value.typeName)")
                }
                strings.append(string)
            }
            switch sequenceNumber(members["lastSeq"], name: "lastSeq", in: "resume") {
            case .success(let lastSeq): return .success(.resume(session: strings[0], token: strings[1], lastSeq: lastSeq))
            case .failure(let message): return invalid(message.message)
            }
        case "ack":
            switch sequenceNumber(members["seq"], name: "seq", in: "ack") {
            case .success(let seq): return .success(.ack(seq: seq))
            case .failure(let message): return invalid(message.message)
            }
        default:
            if let idValue = members["id"], idValue != .null {
                guard stringID != nil else { return invalid("\"id\" must be a string, found \(idValue.typeName)") }
                guard stringID?.isEmpty == false else { return invalid("\"id\" must not be empty") }
            }
            var data = RequestData.empty
            if let nested = members.nested("data") {
                data = .members(nested)
            } else if let dataValue = members["data"], dataValue != .null {
                guard case .object = dataValue else { return invalid("data: expected object, found \(dataValue.typeName)") }
                data = .value(dataValue)
            }
            var timeout: Duration?
            if let timeoutValue = members["timeout"], timeoutValue != .null {
                guard case .number(let milliseconds) = timeoutValue, milliseconds > 0 else {
                    return invalid(
                        "timeout: expected a positive number of milliseconds, found \(timeoutValue.foundDescription)")
                }
                timeout = .microseconds(Int64(min(milliseconds, 1e12) * 1000))
            }
            return .success(.request(type: type, id: stringID, data: data, timeout: timeout))
        }
    }

    /// A `seq` member: a non-negative integer.
    private static func sequenceNumber(_ value: JSONValue?, name: String, in type: String) -> Result<UInt64, Invalid> {
        guard let value else { return .failure(Invalid(message: "\(type): missing \"\(name)\"")) }
        guard case .number(let number) = value, number >= 0, let integer = UInt64(exactly: number) else {
            return .failure(
                Invalid(message: "\(type): \"\(name)\" must be a non-negative integer, found \(value.foundDescription)"))
        }
        return .success(integer)
    }
}
