/// One message of the context to compress: the request's `{role, content}`.
///
/// `label` prefixes the message's line in the compressed text (`user: …`); it is the role for chat
/// messages and the memory's id for `memoryIds` input. It is not part of the wire form.
public struct ContextMessage: Decodable, Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool`, … (weights in ``ContextCompressor``); `memory` for stored memories.
    public var role: String
    /// The message text.
    public var content: String
    /// The line prefix in the compressed text (defaults to `role`).
    public var label: String

    public init(role: String, content: String, label: String? = nil) {
        self.role = role
        self.content = content
        self.label = label ?? role
    }

    private enum CodingKeys: String, CodingKey { case role, content }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            role: try container.decode(String.self, forKey: .role), content: try container.decode(String.self, forKey: .content))
    }
}

/// Where a sentence is: message index (in the request's `messages` or `memoryIds`) and sentence index in
/// that message, both from 0. Written `m:s`, e.g. `2:0`.
public struct SentenceRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var message: Int
    public var sentence: Int

    public init(message: Int, sentence: Int) {
        self.message = message
        self.sentence = sentence
    }

    public var description: String { "\(message):\(sentence)" }

    public static func < (lhs: SentenceRef, rhs: SentenceRef) -> Bool {
        (lhs.message, lhs.sentence) < (rhs.message, rhs.sentence)
    }
}

/// Why a sentence was dropped; encoded as a string: `duplicate_of m:s` or `over_budget`.
///
/// A struct over a private enum, so reasons can be added without breaking clients that switch on known ones.
public struct DropReason: Sendable, Hashable, Encodable, CustomStringConvertible {
    private enum Base: Hashable {
        case duplicate(SentenceRef)
        case overBudget
    }

    private let base: Base

    /// A near-duplicate (Jaccard ≥ the threshold) of the kept-or-considered sentence `original`.
    public static func duplicate(of original: SentenceRef) -> DropReason { DropReason(base: .duplicate(original)) }
    /// Not a duplicate, but it did not fit the remaining budget.
    public static let overBudget = DropReason(base: .overBudget)

    /// The sentence this one duplicates, if that is the reason.
    public var duplicateOf: SentenceRef? {
        if case .duplicate(let original) = base { return original }
        return nil
    }

    public var description: String {
        switch base {
        case .duplicate(let original): "duplicate_of \(original)"
        case .overBudget: "over_budget"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A sentence in the compressed context.
public struct KeptSentence: Encodable, Sendable, Equatable {
    public var message: Int
    public var sentence: Int
    public var text: String
    /// Estimated tokens (``TokenEstimator``).
    public var tokens: Int
    /// Importance, 0…1 (``SentenceScorer``), rounded to 6 decimals.
    public var score: Double
    /// Whether it was kept regardless of score: its message is among the `keepRecent` latest, or a `system` message.
    public var pinned: Bool

    public var ref: SentenceRef { SentenceRef(message: message, sentence: sentence) }
}

/// A sentence left out of the compressed context, with the reason.
public struct DroppedSentence: Encodable, Sendable, Equatable {
    public var message: Int
    public var sentence: Int
    public var text: String
    public var tokens: Int
    public var reason: DropReason
    /// Importance (absent for duplicates, which are not scored).
    public var score: Double?
    /// Jaccard similarity to the original (duplicates only), rounded to 6 decimals.
    public var similarity: Double?

    public var ref: SentenceRef { SentenceRef(message: message, sentence: sentence) }
}

/// The compression preview: `context_compress`'s result (the fields of `compression_complete`).
public struct CompressionResult: Encodable, Sendable, Equatable {
    /// The kept sentences in original order: one line per message that kept any, `label: s1 s2 …`, lines joined by `\n`.
    public var compressed: String
    /// Kept sentences in original order.
    public var kept: [KeptSentence]
    /// Dropped sentences in original order.
    public var dropped: [DroppedSentence]
    /// Estimated tokens of every sentence of the input.
    public var originalTokens: Int
    /// Estimated tokens of the kept sentences.
    public var compressedTokens: Int
    /// `compressedTokens / originalTokens`, rounded to 4 decimals (0 for an input without sentences).
    public var ratio: Double
    /// The requested budget.
    public var budgetTokens: Int
    /// False only when the pinned messages (`keepRecent`, `system`) alone exceed the budget (they are kept whole regardless).
    public var withinBudget: Bool
}
