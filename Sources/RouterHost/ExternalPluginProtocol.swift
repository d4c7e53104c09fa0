import RouterCore

/// The newline-delimited JSON protocol spoken with an external process plugin over its stdin/stdout
/// (see PLUGINS.md). Every line is one JSON object with a `type` member.
enum ExternalPluginProtocol {
    /// Lines longer than this (16 MiB) are discarded as malformed.
    static let maximumLineLength = 16 * 1024 * 1024

    // MARK: host → plugin

    static func describeLine() -> String {
        JSONValue.object(["type": "describe"]).jsonText
    }

    static func requestLine(id: String, operation: String, data: JSONValue, deadlineMs: Int64) -> String {
        JSONValue.object([
            "type": "request", "id": .string(id), "op": .string(operation), "data": data,
            "deadlineMs": .number(Double(deadlineMs)),
        ]).jsonText
    }

    static func cancelLine(id: String) -> String {
        JSONValue.object(["type": "cancel", "id": .string(id)]).jsonText
    }

    // MARK: plugin → host

    /// One operation of a `describe` answer.
    struct DescribedOperation: Sendable, Equatable {
        var type: String
        var prefix: String?
        var timeoutMs: Int?
        var stages: [ProgressStage]
    }

    enum Message: Sendable, Equatable {
        case describe([DescribedOperation])
        case progress(id: String, stage: String, fraction: Double, message: String?)
        case chunk(id: String, data: JSONValue)
        case result(id: String, data: JSONValue)
        case error(id: String, code: String?, message: String)

        var requestID: String? {
            switch self {
            case .describe: nil
            case .progress(let id, _, _, _), .chunk(let id, _), .result(let id, _), .error(let id, _, _): id
            }
        }
    }

    /// Why a line from the plugin was ignored.
    struct MalformedLine: Error, Sendable, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Parses one line (without its newline). Throws ``MalformedLine`` saying what is wrong.
    static func parse(_ line: some Collection<UInt8>) throws(MalformedLine) -> Message {
        let value: JSONValue
        do {
            value = try JSONValue(jsonBytes: Array(line))
        } catch {
            throw MalformedLine(reason: "not JSON (\(error))")
        }
        guard case .object(let members) = value else {
            throw MalformedLine(reason: "expected a JSON object, found \(value.typeName)")
        }
        guard case .string(let type)? = members["type"] else {
            throw MalformedLine(reason: "missing string member \"type\"")
        }
        if type == "describe" { return try parseDescribe(members) }
        guard case .string(let id)? = members["id"], !id.isEmpty else {
            throw MalformedLine(reason: "\(type): missing string member \"id\"")
        }
        switch type {
        case "progress":
            guard case .string(let stage)? = members["stage"] else {
                throw MalformedLine(reason: "progress: missing string member \"stage\"")
            }
            var fraction = 0.0
            switch members["fraction"] {
            case .number(let number)?: fraction = number
            case nil, .null?: break
            case let other?: throw MalformedLine(reason: "progress: \"fraction\" must be a number, found \(other.typeName)")
            }
            return .progress(id: id, stage: stage, fraction: fraction, message: try optionalString(members, "message", in: type))
        case "chunk":
            return .chunk(id: id, data: try dataObject(members, in: type))
        case "result":
            return .result(id: id, data: try dataObject(members, in: type))
        case "error":
            let code = try optionalString(members, "code", in: type)
            let message = try optionalString(members, "message", in: type) ?? "the plugin reported an error"
            return .error(id: id, code: code, message: message)
        default:
            throw MalformedLine(reason: "unknown message type \"\(type)\"")
        }
    }

    private static func parseDescribe(_ members: [String: JSONValue]) throws(MalformedLine) -> Message {
        guard case .array(let items)? = members["operations"] else {
            throw MalformedLine(reason: "describe: missing array member \"operations\"")
        }
        var operations: [DescribedOperation] = []
        for (index, item) in items.enumerated() {
            let path = "describe.operations[\(index)]"
            guard case .object(let fields) = item else {
                throw MalformedLine(reason: "\(path): expected object, found \(item.typeName)")
            }
            guard case .string(let type)? = fields["type"], !type.isEmpty else {
                throw MalformedLine(reason: "\(path).type: missing or not a non-empty string")
            }
            let prefix = try optionalString(fields, "prefix", in: path)
            var timeoutMs: Int?
            switch fields["timeoutMs"] {
            case nil, .null?: break
            case .number(let number)? where number > 0 && number <= 86_400_000 && number.rounded() == number:
                timeoutMs = Int(number)
            case let other?:
                throw MalformedLine(reason: "\(path).timeoutMs: must be a positive integer (ms), found \(other.jsonText)")
            }
            var stages: [ProgressStage] = []
            switch fields["stages"] {
            case nil, .null?: break
            case .array(let stageItems)?:
                for (stageIndex, stageItem) in stageItems.enumerated() {
                    let stagePath = "\(path).stages[\(stageIndex)]"
                    switch stageItem {
                    case .string(let name): stages.append(ProgressStage(name))
                    case .object(let stageFields):
                        guard case .string(let name)? = stageFields["name"] else {
                            throw MalformedLine(reason: "\(stagePath).name: missing or not a string")
                        }
                        var weight = 1.0
                        if let value = stageFields["weight"] {
                            guard case .number(let number) = value, number >= 0 else {
                                throw MalformedLine(reason: "\(stagePath).weight: must be a number ≥ 0")
                            }
                            weight = number
                        }
                        stages.append(ProgressStage(name, weight: weight))
                    default:
                        throw MalformedLine(reason: "\(stagePath): expected object or string, found \(stageItem.typeName)")
                    }
                }
            case let other?:
                throw MalformedLine(reason: "\(path).stages: expected array, found \(other.typeName)")
            }
            operations.append(DescribedOperation(type: type, prefix: prefix, timeoutMs: timeoutMs, stages: stages))
        }
        return .describe(operations)
    }

    private static func optionalString(_ members: [String: JSONValue], _ key: String, in context: String) throws(MalformedLine) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw MalformedLine(reason: "\(context): \"\(key)\" must be a string, found \(other.typeName)")
        }
    }

    private static func dataObject(_ members: [String: JSONValue], in type: String) throws(MalformedLine) -> JSONValue {
        switch members["data"] {
        case nil, .null?: return .object([:])
        case .object(let fields)?: return .object(fields)
        case let other?: throw MalformedLine(reason: "\(type): \"data\" must be an object, found \(other.typeName)")
        }
    }

    /// Whether `code` may be sent to clients as an error code (snake_case).
    static func isValidErrorCode(_ code: String) -> Bool {
        !code.isEmpty && code.count <= 64
            && code.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Splits a byte stream into lines (LF, optional CR before it); lines over the limit are
    /// reported as `nil` once and the rest of them skipped.
    struct LineSplitter {
        private var buffer: [UInt8] = []
        private var discarding = false
        let limit: Int

        init(limit: Int = ExternalPluginProtocol.maximumLineLength) {
            self.limit = limit
        }

        /// Feeds bytes; calls `line` for every complete line (`nil` for one that was too long).
        mutating func feed(_ bytes: some Collection<UInt8>, line: ([UInt8]?) -> Void) {
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    if discarding {
                        discarding = false
                    } else {
                        if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
                        line(buffer)
                    }
                    buffer.removeAll(keepingCapacity: true)
                } else if !discarding {
                    buffer.append(byte)
                    if buffer.count > limit {
                        buffer.removeAll()
                        discarding = true
                        line(nil)
                    }
                }
            }
        }

        /// The unterminated last line at end of stream, if any.
        mutating func finish(line: ([UInt8]?) -> Void) {
            if !discarding, !buffer.isEmpty { line(buffer) }
            buffer.removeAll()
            discarding = false
        }
    }
}
