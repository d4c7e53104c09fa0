/// Reads typed values out of a JSON tree, recording every problem with its path instead of stopping at the first.
struct ConfigurationReader {
    private(set) var issues: [ConfigurationIssue] = []

    mutating func report(_ path: String, _ reason: String) {
        issues.append(ConfigurationIssue(path: path, reason: reason))
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The members of an object, flagging unknown keys (with the nearest known key). Nil if absent or not an object.
    mutating func object(_ value: JSONValue?, at path: String, known: [String]) -> [String: JSONValue]? {
        guard let value else { return nil }
        guard case .object(let members) = value else {
            report(path, "expected object, found \(Self.describe(value))")
            return nil
        }
        for key in members.keys.sorted() where !known.contains(key) {
            if let suggestion = Suggestion.nearest(key, in: known) {
                report(Self.join(path, key), "unknown key (did you mean \"\(suggestion)\"?)")
            } else {
                report(Self.join(path, key), "unknown key (known: \(known.joined(separator: ", ")))")
            }
        }
        return members
    }

    mutating func int(_ members: [String: JSONValue]?, _ key: String, at path: String, default fallback: Int, range: ClosedRange<Int>? = nil, rule: String? = nil) -> Int {
        let keyPath = Self.join(path, key)
        guard let value = members?[key], value != .null else { return fallback }
        guard case .number(let number) = value else {
            report(keyPath, "expected integer, found \(Self.describe(value))")
            return fallback
        }
        guard number.rounded() == number, abs(number) < 9e15 else {
            report(keyPath, "expected integer, found number \(Self.format(number))")
            return fallback
        }
        let integer = Int(number)
        if let range, !range.contains(integer) {
            report(keyPath, rule ?? Self.rangeRule(range))
            return fallback
        }
        return integer
    }

    mutating func optionalInt(_ members: [String: JSONValue]?, _ key: String, at path: String, range: ClosedRange<Int>, rule: String? = nil) -> Int? {
        guard let value = members?[key], value != .null else { return nil }
        let sentinel = Int.min
        let result = int(members, key, at: path, default: sentinel, range: range, rule: rule)
        _ = value
        return result == sentinel ? nil : result
    }

    mutating func bool(_ members: [String: JSONValue]?, _ key: String, at path: String, default fallback: Bool) -> Bool {
        guard let value = members?[key], value != .null else { return fallback }
        guard case .bool(let flag) = value else {
            report(Self.join(path, key), "expected boolean, found \(Self.describe(value))")
            return fallback
        }
        return flag
    }

    mutating func string(_ members: [String: JSONValue]?, _ key: String, at path: String) -> String? {
        guard let value = members?[key], value != .null else { return nil }
        guard case .string(let text) = value else {
            report(Self.join(path, key), "expected string, found \(Self.describe(value))")
            return nil
        }
        return text
    }

    mutating func choice(_ members: [String: JSONValue]?, _ key: String, at path: String, default fallback: String, allowed: [String]) -> String {
        guard let text = string(members, key, at: path) else { return fallback }
        guard allowed.contains(text) else {
            report(Self.join(path, key), "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), found \"\(text)\"")
            return fallback
        }
        return text
    }

    mutating func strings(_ members: [String: JSONValue]?, _ key: String, at path: String) -> [String]? {
        guard let value = members?[key], value != .null else { return nil }
        let keyPath = Self.join(path, key)
        guard case .array(let items) = value else {
            report(keyPath, "expected array of strings, found \(Self.describe(value))")
            return nil
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                report("\(keyPath)[\(index)]", "expected string, found \(Self.describe(item))")
                continue
            }
            result.append(text)
        }
        return result
    }

    static func rangeRule(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return range.lowerBound == 1 ? "must be > 0" : "must be >= \(range.lowerBound)" }
        return "must be between \(range.lowerBound) and \(range.upperBound)"
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number(let number): number.rounded() == number ? "integer" : "number \(format(number))"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }
}
