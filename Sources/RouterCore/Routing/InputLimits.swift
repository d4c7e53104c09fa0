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
        /// `path` split once, when the rule is made (checked on every request).
        let steps: [Step]

        /// One member name of a path; `eachElement` when it ends with `[]`.
        struct Step: Hashable {
            let name: String
            let eachElement: Bool
        }

        init(path: String, measure: Measure, limit: Int, name: String) {
            self.path = path
            self.measure = measure
            self.limit = limit
            self.name = name
            steps = path.split(separator: ".").map { component in
                component.hasSuffix("[]")
                    ? Step(name: String(component.dropLast(2)), eachElement: true)
                    : Step(name: String(component), eachElement: false)
            }
        }

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
    ///
    /// Allocates nothing when every limit holds: the path of a violation is spelled only once one is found.
    func violation(in data: JSONValue) -> OperationError? {
        violation(in: .value(data))
    }

    /// The first limit `data` exceeds, as ``violation(in:)-(JSONValue)`` finds it.
    func violation(in data: RequestData) -> OperationError? {
        // By index, passing the measure and limit alone: a rule passed whole is copied (its path, name and
        // steps retained and released) for every request.
        for index in rules.indices {
            if let found = Self.check(rules[index].measure, rules[index].limit, data, rules[index].steps[...]) {
                let rule = rules[index]
                let amount = rule.measure == .terms ? "more than \(rule.limit) \(found.unit)" : "\(found.amount) \(found.unit)"
                return .payloadTooLarge("data\(found.path): \(amount), over the limit of \(rule.limit) (\(rule.name))")
            }
        }
        return nil
    }

    /// A measure over its limit, and where (`.memoryIds`, `.messages[3].content`), relative to `data`.
    private struct Excess {
        var path: String
        let amount: Int
        let unit: String
    }

    /// `check` from the request's data: its first step looks the member up in an object kept as members.
    private static func check(
        _ measure: Rule.Measure, _ limit: Int, _ data: RequestData, _ steps: ArraySlice<Rule.Step>
    ) -> Excess? {
        guard case .members(let members) = data, let step = steps.first else {
            return check(measure, limit, data.json, steps)
        }
        guard let member = members[step.name] else { return nil }
        return check(measure, limit, member, at: step, then: steps.dropFirst())
    }

    private static func check(
        _ measure: Rule.Measure, _ limit: Int, _ value: JSONValue, _ steps: ArraySlice<Rule.Step>
    ) -> Excess? {
        guard let step = steps.first else { return Self.measure(measure, limit, value) }
        guard case .object(let members) = value, let member = Self.member(step.name, of: members) else { return nil }
        return check(measure, limit, member, at: step, then: steps.dropFirst())
    }

    /// `check` of `member`, found at `step`, with the steps after it.
    private static func check(
        _ measure: Rule.Measure, _ limit: Int, _ member: JSONValue, at step: Rule.Step, then steps: ArraySlice<Rule.Step>
    ) -> Excess? {
        guard step.eachElement else {
            guard var excess = check(measure, limit, member, steps) else { return nil }
            excess.path = "." + step.name + excess.path
            return excess
        }
        guard case .array(let elements) = member else { return nil }
        for (index, element) in elements.enumerated() {
            if var excess = check(measure, limit, element, steps) {
                excess.path = ".\(step.name)[\(index)]" + excess.path
                return excess
            }
        }
        return nil
    }

    /// The member named `key`: a small object (most requests' `data`) is scanned, which costs no hashing.
    private static func member(_ key: String, of members: [String: JSONValue]) -> JSONValue? {
        guard members.count <= 4 else { return members[key] }
        for (name, value) in members where name == key { return value }
        return nil
    }

    private static func measure(_ measure: Rule.Measure, _ limit: Int, _ value: JSONValue) -> Excess? {
        let found: Int
        let unit: String
        switch (measure, value) {
        case (.items, .array(let elements)):
            found = elements.count
            unit = "items"
        case (.bytes, .string(let text)):
            found = text.utf8.count
            unit = "bytes"
        case (.terms, .string(let text)):
            // Counting stops just past the limit: a huge query costs no more than the limit to refuse.
            found = countTerms(text, stoppingAfter: limit)
            unit = "terms"
        default:
            return nil
        }
        guard found > limit else { return nil }
        return Excess(path: "", amount: found, unit: unit)
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
