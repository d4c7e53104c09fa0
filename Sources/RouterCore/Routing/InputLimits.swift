/// Limits an operation declares on its input (``OperationHandler/inputLimits``), checked by the router on
/// the request's `data` before it is decoded and before the handler runs. A request past one gets
/// `payload_too_large` naming the field, what was found, and the limit:
/// `data.memoryIds: 300000 items, over the limit of 10000 (maxMemoryIds)`.
///
/// ```swift
/// var inputLimits: InputLimits {
///     [.maxItems("memoryIds", 10_000, name: "maxMemoryIds"), .maxBytes("messages[].content", 1 << 20, name: "maxMessageBytes")]
/// }
/// ```
///
/// A path names members from `data` separated by dots; `[]` after a name applies the rest to every element
/// of that array (`entries[].text`). A field that is absent, or not of the measured kind, is not checked
/// (decoding reports type errors).
public struct InputLimits: Sendable, Hashable, ExpressibleByArrayLiteral {
    /// One limit on one field.
    public struct Rule: Sendable, Hashable {
        enum Measure: Hashable {
            case items
            case bytes
            case terms
        }

        let path: String
        let measure: Measure
        let limit: Int
        let name: String

        /// At most `limit` elements in the array at `path` (ids per request, entries per batch).
        public static func maxItems(_ path: String, _ limit: Int, name: String) -> Rule {
            Rule(path: path, measure: .items, limit: limit, name: name)
        }

        /// At most `limit` UTF-8 bytes in the string at `path`.
        public static func maxBytes(_ path: String, _ limit: Int, name: String) -> Rule {
            Rule(path: path, measure: .bytes, limit: limit, name: name)
        }

        /// At most `limit` whitespace-separated terms in the string at `path` (query terms).
        public static func maxTerms(_ path: String, _ limit: Int, name: String) -> Rule {
            Rule(path: path, measure: .terms, limit: limit, name: name)
        }
    }

    public var rules: [Rule]

    /// No limits (the default of every operation).
    public static let none = InputLimits([])

    public init(_ rules: [Rule]) {
        self.rules = rules
    }

    public init(arrayLiteral rules: Rule...) {
        self.rules = rules
    }

    /// The first limit `data` exceeds, as the error to send; nil when every limit holds.
    func violation(in data: JSONValue) -> OperationError? {
        for rule in rules {
            let components = rule.path.split(separator: ".").map(String.init)
            if let error = Self.check(rule, data, components[...], at: "data") { return error }
        }
        return nil
    }

    private static func check(_ rule: Rule, _ value: JSONValue, _ components: ArraySlice<String>, at path: String)
        -> OperationError?
    {
        guard let first = components.first else { return measure(rule, value, at: path) }
        let eachElement = first.hasSuffix("[]")
        let name = eachElement ? String(first.dropLast(2)) : first
        guard case .object(let members) = value, let member = members[name] else { return nil }
        let memberPath = path + "." + name
        guard eachElement else { return check(rule, member, components.dropFirst(), at: memberPath) }
        guard case .array(let elements) = member else { return nil }
        for (index, element) in elements.enumerated() {
            if let error = check(rule, element, components.dropFirst(), at: "\(memberPath)[\(index)]") { return error }
        }
        return nil
    }

    private static func measure(_ rule: Rule, _ value: JSONValue, at path: String) -> OperationError? {
        let found: Int
        let unit: String
        switch (rule.measure, value) {
        case (.items, .array(let elements)):
            found = elements.count
            unit = "items"
        case (.bytes, .string(let text)):
            found = text.utf8.count
            unit = "bytes"
        case (.terms, .string(let text)):
            // Counting stops just past the limit: a huge query costs no more than the limit to refuse.
            found = countTerms(text, stoppingAfter: rule.limit)
            unit = "terms"
        default:
            return nil
        }
        guard found > rule.limit else { return nil }
        let amount = rule.measure == .terms ? "more than \(rule.limit) \(unit)" : "\(found) \(unit)"
        return .payloadTooLarge("\(path): \(amount), over the limit of \(rule.limit) (\(rule.name))")
    }

    private static func countTerms(_ text: String, stoppingAfter limit: Int) -> Int {
        var count = 0
        var inTerm = false
        for byte in text.utf8 {
            let isSpace = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
            if isSpace {
                inTerm = false
            } else if !inTerm {
                inTerm = true
                count += 1
                if count > limit { return count }
            }
        }
        return count
    }
}
