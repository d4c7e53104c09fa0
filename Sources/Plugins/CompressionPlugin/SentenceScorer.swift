import Foundation
import MemoryStore

/// Scores sentences for importance, in `0…1`:
/// `score = 0.55 · centrality + 0.25 · recency + 0.20 · roleWeight`.
///
/// - **centrality**: cosine similarity between the sentence's TF-IDF vector and the centroid of the *other*
///   scored sentences' vectors (centroid-based centrality, as in MEAD, Radev et al. 2004, leave-one-out; linear in
///   the text, unlike LexRank's sentence graph), divided by the highest such similarity so the most central
///   sentence has 1. A sentence sharing no term with the rest has 0.
///   Terms come from the store's ``Tokenizer`` (lower-cased words, stop words dropped); a term's weight is
///   `(1 + ln tf) · ln(1 + N / df)` over the `N` scored sentences; vectors are L2-normalized.
/// - **recency**: the message's position, `index / (messageCount − 1)`, so the latest message has 1 (the oldest 0).
/// - **roleWeight**: `system` 1.0, `user` 0.8, `memory` 0.7, `assistant` 0.6, `tool`/`function` 0.3, anything else 0.5
///   (case-insensitive): instructions and what the user said matter more than what the assistant or a tool produced.
///
/// Term ids are assigned in order of first appearance and every sum runs in sentence order, so scores are
/// bit-for-bit identical for the same input.
struct SentenceScorer {
    static let centralityWeight = 0.55
    static let recencyWeight = 0.25
    static let roleWeightShare = 0.20

    /// The weight of a message's role.
    static func roleWeight(_ role: String) -> Double {
        switch role.lowercased() {
        case "system": 1.0
        case "user": 0.8
        case "memory": 0.7
        case "assistant": 0.6
        case "tool", "function": 0.3
        default: 0.5
        }
    }

    private let tokenizer = Tokenizer.standard

    /// Centrality (0…1) of each of `sentences`; `step` is called every 256 sentences and may throw to stop.
    func centrality(_ sentences: [String], step: (Int) throws -> Void) rethrows -> [Double] {
        var termID: [String: Int] = [:]
        var documentFrequency: [Int] = []
        var vectors: [[(term: Int, count: Int)]] = []
        vectors.reserveCapacity(sentences.count)
        // A sentence's term counts by term id, back to zero after each sentence (an array: no hashing per term).
        var counts: [Int] = []
        for (position, sentence) in sentences.enumerated() {
            if position & 255 == 0 { try step(position / 2) }
            var firstSeen: [Int] = []
            for term in tokenizer.terms(sentence) {
                let id: Int
                if let known = termID[term] {
                    id = known
                } else {
                    id = documentFrequency.count
                    termID[term] = id
                    documentFrequency.append(0)
                    counts.append(0)
                }
                if counts[id] == 0 { firstSeen.append(id) }
                counts[id] += 1
            }
            for id in firstSeen { documentFrequency[id] += 1 }
            vectors.append(firstSeen.sorted().map { ($0, counts[$0]) })
            for id in firstSeen { counts[id] = 0 }
        }

        let total = Double(sentences.count)
        let idf = documentFrequency.map { log(1 + total / Double($0)) }
        var centroid = [Double](repeating: 0, count: documentFrequency.count)
        var weighted: [[(term: Int, weight: Double)]] = []
        weighted.reserveCapacity(vectors.count)
        for vector in vectors {
            var entries = vector.map { ($0.term, (1 + log(Double($0.count))) * idf[$0.term]) }
            let norm = entries.reduce(0) { $0 + $1.1 * $1.1 }.squareRoot()
            if norm > 0 {
                for index in entries.indices { entries[index].1 /= norm }
            }
            for (term, weight) in entries { centroid[term] += weight }
            weighted.append(entries.map { (term: $0.0, weight: $0.1) })
        }
        // Leave-one-out: compare each sentence with the centroid of the *others*, so a sentence is not
        // central merely because its own rare terms are in the centroid.
        let centroidSquared = centroid.reduce(0) { $0 + $1 * $1 }
        var result = [Double](repeating: 0, count: sentences.count)
        for (position, vector) in weighted.enumerated() {
            if position & 255 == 0 { try step((sentences.count + position) / 2) }
            guard !vector.isEmpty else { continue }
            let dot = vector.reduce(0) { $0 + $1.weight * centroid[$1.term] }
            let othersSquared = centroidSquared - 2 * dot + 1
            guard othersSquared > 1e-12 else { continue }
            result[position] = max(0, dot - 1) / othersSquared.squareRoot()
        }
        let best = result.max() ?? 0
        if best > 0 {
            for index in result.indices { result[index] /= best }
        }
        return result
    }

    /// The combined score of one sentence.
    static func score(centrality: Double, messageIndex: Int, messageCount: Int, role: String) -> Double {
        let recency = messageCount > 1 ? Double(messageIndex) / Double(messageCount - 1) : 1
        return centralityWeight * centrality + recencyWeight * recency + roleWeightShare * roleWeight(role)
    }
}
