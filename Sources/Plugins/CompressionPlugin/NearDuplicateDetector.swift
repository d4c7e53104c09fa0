import MemoryStore

/// Finds near-duplicate sentences exactly: word shingles, Jaccard similarity ≥ a threshold, with
/// prefix filtering (Bayardo et al., "Scaling up all pairs similarity search", WWW 2007) so that only
/// pairs that can reach the threshold are compared.
///
/// - A sentence's **shingles** are its word 3-grams (``shingleSize``) over lower-cased words (Unicode letters and
///   digits, stop words kept, punctuation ignored). A sentence of 1…2 words has one shingle, all its words, so it
///   only matches the same words; a sentence without words has none and is never a duplicate.
/// - Two sentences are near-duplicates when `|A ∩ B| / |A ∪ B| ≥ threshold` (default 0.8).
/// - Shingles are ranked rarest first (document frequency, then hash); two sets with Jaccard ≥ t share a shingle
///   within their first `|x| − ⌈t·|x|⌉ + 1` ranks. Only those prefixes are indexed and probed, and only pairs whose
///   sizes allow the threshold are verified, by an exact merge. No pair at or above the threshold is missed.
/// - Sentences are visited in the order given (the compressor puts the protected, `keepRecent` ones first,
///   then the others in conversation order). A visited sentence whose best match among the earlier
///   *representatives* reaches the threshold is a duplicate of it (the highest similarity wins, then the earliest);
///   otherwise it becomes a representative. `alwaysRepresentative` sentences are never marked as duplicates.
///
/// Hashes are FNV-1a 64 of the words (not Swift's per-process seeded `Hasher`), so results are identical across runs.
struct NearDuplicateDetector {
    static let shingleSize = 3

    struct Match: Equatable {
        /// The representative this sentence duplicates.
        var original: Int
        var similarity: Double
    }

    let threshold: Double
    private let words = Tokenizer(stopWords: [])

    init(threshold: Double) {
        self.threshold = threshold
    }

    /// The shingle hashes of one sentence, sorted and unique.
    func shingles(_ sentence: String) -> [UInt64] {
        let terms = words.terms(sentence)
        guard !terms.isEmpty else { return [] }
        let size = min(Self.shingleSize, terms.count)
        var result: [UInt64] = []
        result.reserveCapacity(terms.count - size + 1)
        for start in 0...(terms.count - size) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for term in terms[start..<(start + size)] {
                for byte in term.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                hash = (hash ^ 0x1F) &* 0x100_0000_01b3
            }
            result.append(hash)
        }
        result.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(result.count)
        for hash in result where unique.last != hash { unique.append(hash) }
        return unique
    }

    /// For each sentence (by position in `shingleSets`), its match, or nil if it is a representative.
    ///
    /// - Parameters:
    ///   - order: the visiting order (a permutation of the positions).
    ///   - step: called with the number of sentences visited so far, every 256; may throw to stop (cancellation).
    func detect(
        shingleSets: [[UInt64]], order: [Int], alwaysRepresentative: (Int) -> Bool, step: (Int) throws -> Void
    ) rethrows -> [Match?] {
        // Global order: rarest shingle first, ties by hash (deterministic).
        var frequency: [UInt64: Int32] = [:]
        for set in shingleSets {
            for hash in set { frequency[hash, default: 0] += 1 }
        }
        // Sorted as (count, hash) pairs: a comparison looks nothing up.
        var ranked = frequency.map { (count: $0.value, hash: $0.key) }
        ranked.sort { $0.count != $1.count ? $0.count < $1.count : $0.hash < $1.hash }
        var rankOf: [UInt64: Int32] = [:]
        rankOf.reserveCapacity(ranked.count)
        for (rank, entry) in ranked.enumerated() { rankOf[entry.hash] = Int32(rank) }
        let sets = shingleSets.map { set in set.map { rankOf[$0]! }.sorted() }

        var matches = [Match?](repeating: nil, count: sets.count)
        var postings: [Int32: [Int32]] = [:]
        var seenStamp = [Int32](repeating: -1, count: sets.count)
        for (visited, position) in order.enumerated() {
            if visited & 255 == 0 { try step(visited) }
            let set = sets[position]
            guard !set.isEmpty else { continue }
            let size = set.count
            let minOverlap = minimumOverlap(size)
            let prefix = size - minOverlap + 1
            var best: Match?
            if !alwaysRepresentative(position) {
                for rank in set[0..<prefix] {
                    guard let candidates = postings[rank] else { continue }
                    for candidate in candidates {
                        let other = Int(candidate)
                        guard seenStamp[other] != Int32(position) else { continue }
                        seenStamp[other] = Int32(position)
                        let otherSize = sets[other].count
                        guard otherSize >= minOverlap, size >= minimumOverlap(otherSize) else { continue }
                        let similarity = Self.jaccard(set, sets[other])
                        guard similarity >= threshold else { continue }
                        if let current = best,
                            current.similarity > similarity || (current.similarity == similarity && current.original < other)
                        {
                            continue
                        }
                        best = Match(original: other, similarity: similarity)
                    }
                }
            }
            if let best {
                matches[position] = best
            } else {
                for rank in set[0..<prefix] { postings[rank, default: []].append(Int32(position)) }
            }
        }
        return matches
    }

    /// `⌈t·n⌉`: the least overlap a set of size `n` needs with any set to reach the threshold.
    private func minimumOverlap(_ size: Int) -> Int {
        max(1, Int((threshold * Double(size) - 1e-9).rounded(.up)))
    }

    /// Exact Jaccard similarity of two sorted, unique rank arrays.
    static func jaccard(_ lhs: [Int32], _ rhs: [Int32]) -> Double {
        var left = 0, right = 0, common = 0
        while left < lhs.count, right < rhs.count {
            if lhs[left] == rhs[right] {
                common += 1
                left += 1
                right += 1
            } else if lhs[left] < rhs[right] {
                left += 1
            } else {
                right += 1
            }
        }
        return Double(common) / Double(lhs.count + rhs.count - common)
    }
}
