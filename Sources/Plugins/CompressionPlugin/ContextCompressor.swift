/// Extractive, deduplicating compression of a conversation (or of memories) to a token budget.
///
/// The pipeline, one progress stage each (``Stage``):
/// 1. **splitting**: every message into sentences (``SentenceSplitter``), each with its token estimate
///    (``TokenEstimator``: `ceil(UTF-8 bytes / 4)`).
/// 2. **deduplicating**: near-duplicate sentences (word 3-gram shingles, Jaccard ≥ ``duplicateThreshold``,
///    see ``NearDuplicateDetector``) are dropped as `duplicate_of m:s`, pointing at the first occurrence —
///    or at the pinned copy when a pinned (recent or system) message repeats another sentence.
/// 3. **scoring**: the remaining sentences get an importance score (``SentenceScorer``: TF-IDF centroid
///    centrality, recency, role).
/// 4. **selecting**: sentences of the `keepRecent` latest messages (and of `system` messages, unless
///    `keepSystem` is false) are kept whole first; then the others in
///    descending score (ties: earlier first), each kept if it still fits the budget, else dropped as
///    `over_budget` (a smaller, lower-scored sentence may still fit after a big one did not).
///
/// The output lists sentences in their original order. The result is a pure function of the input: no
/// randomness, no per-process hash seeds, a fixed order for every floating-point sum.
public struct ContextCompressor: Sendable {
    /// The compressor's progress stages, in order.
    public enum Stage: String, Sendable, CaseIterable {
        case splitting, deduplicating, scoring, selecting
    }

    /// Jaccard similarity at or above which two sentences are near-duplicates (0 < t ≤ 1).
    public var duplicateThreshold: Double

    public init(duplicateThreshold: Double = 0.8) {
        self.duplicateThreshold = duplicateThreshold
    }

    private struct Sentence {
        var ref: SentenceRef
        var text: String
        var tokens: Int
        var role: String
        var protected: Bool
    }

    /// Compresses `messages` to `budgetTokens`, keeping the `keepRecent` latest messages whole.
    public func compress(
        _ messages: [ContextMessage], budgetTokens: Int, keepRecent: Int = 0, keepSystem: Bool = true
    ) -> CompressionResult {
        compress(messages, budgetTokens: budgetTokens, keepRecent: keepRecent, keepSystem: keepSystem) { _, _ in }
    }

    /// Compresses `messages` to `budgetTokens`, reporting progress.
    ///
    /// - Parameters:
    ///   - keepRecent: the number of latest messages kept whole (clamped to `0…messages.count`).
    ///   - keepSystem: whether `system` messages are kept whole too (instructions rarely survive paraphrase).
    ///   - progress: called with each stage's fraction (0 at its start, 1 at its end, and in between every
    ///     256 items); it may throw (e.g. `CancellationError`) to stop the compression.
    public func compress(
        _ messages: [ContextMessage], budgetTokens: Int, keepRecent: Int = 0, keepSystem: Bool = true,
        progress: (Stage, Double) throws -> Void
    ) rethrows -> CompressionResult {
        // 1. Splitting.
        try progress(.splitting, 0)
        let firstProtected = messages.count - min(max(0, keepRecent), messages.count)
        var sentences: [Sentence] = []
        var sentenceCounts = [Int](repeating: 0, count: messages.count)
        for (messageIndex, message) in messages.enumerated() {
            if messageIndex & 63 == 0 { try progress(.splitting, Double(messageIndex) / Double(messages.count)) }
            let pinned = messageIndex >= firstProtected || (keepSystem && message.role.lowercased() == "system")
            for (sentenceIndex, text) in SentenceSplitter.split(message.content).enumerated() {
                sentences.append(
                    Sentence(
                        ref: SentenceRef(message: messageIndex, sentence: sentenceIndex), text: text,
                        tokens: TokenEstimator.estimate(text), role: message.role, protected: pinned))
                sentenceCounts[messageIndex] += 1
            }
        }
        try progress(.splitting, 1)

        // 2. Deduplicating: protected sentences first, so older copies point at them.
        try progress(.deduplicating, 0)
        let detector = NearDuplicateDetector(threshold: duplicateThreshold)
        let count = sentences.count
        var shingleSets: [[UInt64]] = []
        shingleSets.reserveCapacity(count)
        for (position, sentence) in sentences.enumerated() {
            if position & 255 == 0 { try progress(.deduplicating, 0.5 * Double(position) / Double(count)) }
            shingleSets.append(detector.shingles(sentence.text))
        }
        let order = sentences.indices.filter { sentences[$0].protected } + sentences.indices.filter { !sentences[$0].protected }
        let matches = try detector.detect(
            shingleSets: shingleSets, order: order, alwaysRepresentative: { sentences[$0].protected },
            step: { visited in try progress(.deduplicating, 0.5 + 0.5 * Double(visited) / Double(max(1, count))) })
        try progress(.deduplicating, 1)

        // 3. Scoring the survivors.
        try progress(.scoring, 0)
        let candidates = sentences.indices.filter { matches[$0] == nil }
        let centrality = try SentenceScorer().centrality(
            candidates.map { sentences[$0].text },
            step: { done in try progress(.scoring, Double(done) / Double(max(1, candidates.count))) })
        var scores = [Double?](repeating: nil, count: count)
        for (rank, position) in candidates.enumerated() {
            let sentence = sentences[position]
            scores[position] = SentenceScorer.score(
                centrality: centrality[rank], messageIndex: sentence.ref.message, messageCount: messages.count,
                role: sentence.role)
        }
        try progress(.scoring, 1)

        // 4. Selecting: protected first, then by score.
        try progress(.selecting, 0)
        var keep = [Bool](repeating: false, count: count)
        var used = 0
        for position in candidates where sentences[position].protected {
            keep[position] = true
            used += sentences[position].tokens
        }
        let ranked = candidates.filter { !sentences[$0].protected }.sorted { lhs, rhs in
            let left = scores[lhs]!, right = scores[rhs]!
            return left != right ? left > right : lhs < rhs
        }
        for (done, position) in ranked.enumerated() {
            if done & 255 == 0 { try progress(.selecting, Double(done) / Double(ranked.count)) }
            if used + sentences[position].tokens <= budgetTokens {
                keep[position] = true
                used += sentences[position].tokens
            }
        }

        var kept: [KeptSentence] = []
        var dropped: [DroppedSentence] = []
        var lines: [String] = []
        var line: [String] = []
        var originalTokens = 0
        for (position, sentence) in sentences.enumerated() {
            originalTokens += sentence.tokens
            let ref = sentence.ref
            if keep[position] {
                kept.append(
                    KeptSentence(
                        message: ref.message, sentence: ref.sentence, text: sentence.text, tokens: sentence.tokens,
                        score: Self.rounded(scores[position]!, places: 6), pinned: sentence.protected))
                line.append(sentence.text)
            } else if let match = matches[position] {
                dropped.append(
                    DroppedSentence(
                        message: ref.message, sentence: ref.sentence, text: sentence.text, tokens: sentence.tokens,
                        reason: .duplicate(of: sentences[match.original].ref), score: nil,
                        similarity: Self.rounded(match.similarity, places: 6)))
            } else {
                dropped.append(
                    DroppedSentence(
                        message: ref.message, sentence: ref.sentence, text: sentence.text, tokens: sentence.tokens,
                        reason: .overBudget, score: Self.rounded(scores[position]!, places: 6), similarity: nil))
            }
            let lastOfMessage = ref.sentence == sentenceCounts[ref.message] - 1
            if lastOfMessage, !line.isEmpty {
                lines.append(messages[ref.message].label + ": " + line.joined(separator: " "))
                line = []
            }
        }
        try progress(.selecting, 1)
        return CompressionResult(
            compressed: lines.joined(separator: "\n"), kept: kept, dropped: dropped, originalTokens: originalTokens,
            compressedTokens: used,
            ratio: originalTokens > 0 ? Self.rounded(Double(used) / Double(originalTokens), places: 4) : 0,
            budgetTokens: budgetTokens, withinBudget: used <= budgetTokens)
    }

    private static func rounded(_ value: Double, places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}
