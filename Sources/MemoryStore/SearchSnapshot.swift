public import Foundation

/// An entry with its ranking scores.
public struct ScoredEntry: Sendable, Equatable {
    /// The matching entry.
    public var entry: MemoryEntry
    /// The ranking score, results are sorted by it, descending. With both a text query and an embedding it
    /// is the reciprocal-rank-fusion score (see ``SearchSnapshot/rrfK``); with only one signal it is that
    /// signal's score (BM25, or cosine similarity in −1…1).
    public var score: Double
    /// The BM25 score, when the entry matched a query term.
    public var bm25: Double?
    /// The cosine similarity with the query embedding, when both exist.
    public var cosine: Double?

    /// Creates a scored entry.
    public init(entry: MemoryEntry, score: Double, bm25: Double? = nil, cosine: Double? = nil) {
        self.entry = entry
        self.score = score
        self.bm25 = bm25
        self.cosine = cosine
    }
}

/// A document a search ranked: its number in the snapshot (``SearchSnapshot/entry(at:)``) and its scores,
/// as in ``ScoredEntry``.
public struct RankedDocument: Sendable, Equatable {
    /// The document's number in the snapshot it was ranked in.
    public var doc: Int
    /// The ranking score (see ``ScoredEntry/score``).
    public var score: Double
    /// The BM25 score, when the entry matched a query term.
    public var bm25: Double?
    /// The cosine similarity with the query embedding, when both exist.
    public var cosine: Double?
}

/// Query terms resolved against a snapshot's vocabulary, with their IDF: prepare once, score many slices.
public struct BM25Query: Sendable {
    struct Term: Sendable {
        var id: Int
        var idf: Float
    }

    /// The distinct normalized query terms, in first-seen order.
    public let terms: [String]
    let resolved: [Term]
    let lengthNormalization: Float

    /// True when no query term occurs in the corpus (every score would be 0).
    public var isEmpty: Bool { resolved.isEmpty }
}

/// A normalized query vector, padded for the SIMD scan.
public struct VectorQuery: Sendable {
    let padded: [Float]
}

/// The BM25 scores of the documents a query's terms occur in, in document order: what
/// ``SearchSnapshot/bm25Scores(_:docRange:into:)-(_,_,BM25Matches)`` collects slice by slice.
///
/// Sparse: a query costs the postings of its terms, not a score per document of the corpus (no array of
/// the corpus's size to zero, scan for matches and scan again for the top results).
public struct BM25Matches: Sendable {
    /// One scored document.
    public struct Match: Sendable, Equatable {
        let document: UInt32
        /// Its BM25 score (> 0).
        public let score: Float
        /// The document's number in the snapshot.
        public var doc: Int { Int(document) }
    }

    /// The scored documents (live, with at least one query term), ascending.
    public private(set) var matches: [Match] = []
    /// Reused from slice to slice: a score per document of the slice being scored, and a bit per document
    /// touched, so the slice's matches come out in document order without a sort.
    private var scratch: [Float] = []
    private var touched: [UInt64] = []

    /// Documents are scored in slices of at most this many (the scratch's size).
    static let scratchWidth = 16_384

    /// No document scored yet.
    public init() {}

    /// Documents scored so far.
    public var count: Int { matches.count }

    /// The score of `doc`, or nil if it did not match (a binary search).
    public func score(of doc: Int) -> Float? {
        guard doc >= 0, doc <= Int(UInt32.max) else { return nil }
        let target = UInt32(doc)
        var low = 0
        var high = matches.count
        while low < high {
            let middle = (low + high) / 2
            if matches[middle].document < target { low = middle + 1 } else { high = middle }
        }
        return low < matches.count && matches[low].document == target ? matches[low].score : nil
    }

    /// Makes room for `extra` more matches, growing geometrically (as appends would, but at most once per slice).
    mutating func reserve(_ extra: Int) {
        let needed = matches.count + extra
        if matches.capacity < needed { matches.reserveCapacity(max(needed, 2 * matches.capacity)) }
    }

    /// Appends a match after every one so far.
    @inline(__always)
    mutating func append(_ doc: Int, score: Float) {
        matches.append(Match(document: UInt32(doc), score: score))
    }

    /// Adds the scores of one slice (`base ..< base + width`, after every document scored so far):
    /// `accumulate` adds each term's contributions into the scratch, then the touched documents are
    /// appended in order and the scratch is cleared behind them.
    mutating func scoreSlice(
        base: Int, width: Int,
        _ accumulate: (_ scratch: UnsafeMutablePointer<Float>, _ touched: UnsafeMutablePointer<UInt64>) -> Void
    ) {
        if scratch.count < width {
            scratch = [Float](repeating: 0, count: width)
            touched = [UInt64](repeating: 0, count: (width + 63) / 64)
        }
        let words = (width + 63) / 64
        let added = scratch.withUnsafeMutableBufferPointer { scratch in
            touched.withUnsafeMutableBufferPointer { touched -> Int in
                accumulate(scratch.baseAddress!, touched.baseAddress!)
                var added = 0
                for word in 0..<words { added += touched[word].nonzeroBitCount }
                return added
            }
        }
        guard added > 0 else { return }
        // Made room for at once and filled through a pointer: no capacity check per match.
        let first = matches.count
        reserve(added)
        matches.append(contentsOf: repeatElement(Match(document: 0, score: 0), count: added))
        matches.withUnsafeMutableBufferPointer { matches in
            scratch.withUnsafeMutableBufferPointer { scratch in
                touched.withUnsafeMutableBufferPointer { touched in
                    var next = first
                    for word in 0..<words where touched[word] != 0 {
                        var bits = touched[word]
                        touched[word] = 0
                        while bits != 0 {
                            let local = word * 64 + bits.trailingZeroBitCount
                            bits &= bits - 1
                            matches[next] = Match(document: UInt32(base + local), score: scratch[local])
                            scratch[local] = 0
                            next += 1
                        }
                    }
                }
            }
        }
    }
}

/// The set of documents a search may return: live entries that carry every requested tag and were created
/// at or after `since`.
public struct DocumentFilter: Sendable {
    let bits: [UInt64]?

    /// True when the filter lets every live document through.
    public var isUnfiltered: Bool { bits == nil }

    /// Whether `doc` passes (dead documents never score, so callers need not check them).
    @inline(__always)
    public func contains(_ doc: Int) -> Bool {
        guard let bits else { return true }
        return bits[doc >> 6] & (1 << UInt64(doc & 63)) != 0
    }
}

/// An immutable, `Sendable` view of the store at one version: cheap to take (it shares the store's
/// copy-on-write index), safe to use from any task while writers continue.
///
/// Documents are addressed by internal numbers `0..<documentCount` (deleted slots included, they never
/// score), so a caller can score the corpus in slices — reporting progress and checking cancellation
/// between them — and then rank:
///
/// ```swift
/// let snapshot = store.searchSnapshot()
/// let query = snapshot.prepareBM25(query: "coffee preferences")
/// var bm25 = BM25Matches()  // sparse: the documents the terms occur in
/// for start in stride(from: 0, to: snapshot.documentCount, by: 50_000) {
///     try Task.checkCancellation()
///     snapshot.bm25Scores(query, docRange: start..<min(start + 50_000, snapshot.documentCount), into: &bm25)
///     // report progress
/// }
/// let ranked = snapshot.rankDocuments(bm25: bm25, cosine: nil, filter: snapshot.filter(tags: [], since: nil), limit: 10)
/// ```
///
/// (A `[Float]` of one score per document, zero-initialized, works too: the dense form of both calls.)
///
/// **BM25** (Robertson–Spärck Jones, Lucene's variant): for each distinct query term `q` in document `D`,
/// `idf(q) · tf · (k1 + 1) / (tf + k1 · (1 − b + b · |D| / avgdl))` with `idf(q) = ln(1 + (N − n(q) + 0.5) /
/// (n(q) + 0.5))`, ``bm25K1`` = 1.2, ``bm25B`` = 0.75, `N` the live documents, `n(q)` the live documents
/// containing `q`, `|D|` the document's term count after tokenization and `avgdl` the live average.
/// Scoring iterates postings lists only, never all documents.
///
/// **Hybrid ranking** uses reciprocal rank fusion: `score(d) = Σ 1 / (``rrfK`` + rank(d))` over the BM25
/// and cosine rankings (rank from 1), each cut to its best `max(limit, ``rrfWindow``)` candidates.
public struct SearchSnapshot: Sendable {
    /// BM25 term-frequency saturation.
    public static let bm25K1: Float = 1.2
    /// BM25 length normalization.
    public static let bm25B: Float = 0.75
    /// Reciprocal-rank-fusion constant (Cormack et al. 2009).
    public static let rrfK: Double = 60
    /// Candidates taken from each ranking before fusion (at least `limit`).
    public static let rrfWindow = 100

    /// The index, boxed: a snapshot is copied for every search (out of the store, into its results), and a
    /// copy of the index's dozen arrays and tables would count a reference to each.
    private final class Frozen: Sendable {
        let index: IndexState
        init(_ index: IndexState) { self.index = index }
    }

    private let frozen: Frozen
    var index: IndexState {
        _read { yield frozen.index }
    }
    /// The tokenizer the index was built with; use it (or ``queryTerms(_:)``) for queries.
    public let tokenizer: Tokenizer
    /// Increases with every change to the store; equal versions mean equal content.
    public let version: UInt64

    init(index: IndexState, tokenizer: Tokenizer, version: UInt64) {
        self.frozen = Frozen(index)
        self.tokenizer = tokenizer
        self.version = version
    }

    /// Upper bound of document numbers (deleted slots included): score ranges within `0..<documentCount`.
    public var documentCount: Int { index.docCount }
    /// Number of live entries.
    public var liveCount: Int { index.liveCount }
    /// The embedding dimension, once known.
    public var dimension: Int? { index.vectors.dimension }

    /// The entry with internal number `doc`, or nil if deleted.
    public func entry(at doc: Int) -> MemoryEntry? {
        guard doc >= 0, doc < index.docCount, index.alive[doc] else { return nil }
        return index.entries[doc]
    }

    /// Live document numbers ordered by `createdAt`, then `id`: the deterministic order for streamed analyses
    /// (chunk `i` of a given snapshot is always the same entries).
    public func orderedDocuments() -> [Int] {
        var docs: [Int] = []
        docs.reserveCapacity(index.liveCount)
        for doc in 0..<index.docCount where index.alive[doc] { docs.append(doc) }
        return docs.sorted { lhs, rhs in
            let left = index.createdAt[lhs]
            let right = index.createdAt[rhs]
            if left != right { return left < right }
            return index.entries[lhs]!.id < index.entries[rhs]!.id
        }
    }

    /// All live entries ordered by `createdAt`, then `id`.
    public func entries() -> [MemoryEntry] {
        orderedDocuments().map { index.entries[$0]! }
    }

    /// The normalized terms of a query string (the index's tokenizer).
    public func queryTerms(_ query: String) -> [String] {
        tokenizer.terms(query)
    }

    // MARK: - BM25

    /// Resolves terms (normalized again through the tokenizer, deduplicated) and computes their IDF.
    public func prepareBM25(queryTerms: [String]) -> BM25Query {
        prepareBM25(normalizedTerms: queryTerms.flatMap { tokenizer.terms($0) })
    }

    /// The BM25 form of a query string: its terms (``queryTerms(_:)``, tokenized once), deduplicated, with their IDF.
    public func prepareBM25(query: String) -> BM25Query {
        prepareBM25(normalizedTerms: tokenizer.terms(query))
    }

    private func prepareBM25(normalizedTerms: [String]) -> BM25Query {
        let terms = Self.deduplicated(normalizedTerms)
        let live = Float(index.liveCount)
        var resolved: [BM25Query.Term] = []
        for term in terms {
            guard let id = index.termIDs[term] else { continue }
            let df = Float(index.documentFrequency[Int(id)])
            guard df > 0 else { continue }
            let idf = Float(log(1 + (Double(live) - Double(df) + 0.5) / (Double(df) + 0.5)))
            resolved.append(.init(id: Int(id), idf: idf))
        }
        let averageLength = index.liveCount > 0 ? Float(index.totalLength / Double(index.liveCount)) : 1
        return BM25Query(
            terms: terms, resolved: resolved,
            lengthNormalization: averageLength > 0 ? Self.bm25K1 * Self.bm25B / averageLength : 0)
    }

    /// `terms` without repeats, first occurrences in order; `terms` itself (no copy) when it has none, as most
    /// queries do.
    static func deduplicated(_ terms: [String]) -> [String] {
        // Most queries have a few terms: a linear look-up beats hashing them, up to a point.
        if terms.count <= 16 {
            var repeats = false
            for index in terms.indices.dropFirst() where terms[..<index].contains(terms[index]) {
                repeats = true
                break
            }
            guard repeats else { return terms }
        }
        var unique: [String] = []
        unique.reserveCapacity(terms.count)
        var seen: Set<String>? = terms.count > 16 ? [] : nil
        for term in terms {
            let isNew = seen != nil ? seen!.insert(term).inserted : !unique.contains(term)
            if isNew { unique.append(term) }
        }
        return unique
    }

    /// Adds the BM25 score of every live document in `docRange` to `scores[doc]` (documents without a query
    /// term are untouched). `scores` must hold at least `docRange.upperBound` values, zero-initialized by
    /// the caller. Cost: the query terms' postings inside the range, found by binary search.
    public func bm25Scores(_ query: BM25Query, docRange: Range<Int>, into scores: inout [Float]) {
        precondition(scores.count >= docRange.upperBound, "scores must hold at least \(docRange.upperBound) values")
        scores.withUnsafeMutableBufferPointer { out in
            for term in query.resolved {
                forEachPosting(of: term, query: query, in: docRange) { doc, score in out[doc] += score }
            }
        }
    }

    /// Calls `body` with each live document of `docRange` that `term` occurs in, in document order, and the
    /// term's BM25 contribution to its score: `idf · tf · (k1 + 1) / (tf + k1 · (1 − b) + k1 · b · |D| / avgdl)`.
    /// The one place the formula is evaluated, so every form of scoring adds the same `Float`s.
    @inline(__always)
    private func forEachPosting(
        of term: BM25Query.Term, query: BM25Query, in docRange: Range<Int>, _ body: (_ doc: Int, _ score: Float) -> Void
    ) {
        let k1 = Self.bm25K1
        let base = k1 * (1 - Self.bm25B)
        let perLength = query.lengthNormalization
        let postings = index.postings[term.id]
        index.alive.withUnsafeBufferPointer { alive in
            index.docLength.withUnsafeBufferPointer { lengths in
                postings.docs.withUnsafeBufferPointer { docs in
                    postings.frequencies.withUnsafeBufferPointer { frequencies in
                        let upper = UInt32(clamping: docRange.upperBound)
                        var position = Self.lowerBound(docs, UInt32(clamping: docRange.lowerBound))
                        while position < docs.count {
                            let doc = docs[position]
                            if doc >= upper { break }
                            let d = Int(doc)
                            if alive[d] {
                                let tf = Float(frequencies[position])
                                body(d, term.idf * tf * (k1 + 1) / (tf + base + perLength * lengths[d]))
                            }
                            position += 1
                        }
                    }
                }
            }
        }
    }

    /// Adds the BM25 scores of the live documents in `docRange` that contain a query term to `matches`
    /// (the same scores as the dense form, added in the same order). Ranges must come in ascending order:
    /// `docRange` starts after every document already in `matches`. Cost: the query terms' postings inside
    /// the range, found by binary search; nothing per document that has no query term.
    public func bm25Scores(_ query: BM25Query, docRange: Range<Int>, into matches: inout BM25Matches) {
        precondition(
            docRange.lowerBound > (matches.matches.last?.doc ?? -1),
            "slices must be scored in ascending order, after the documents already matched")
        precondition(docRange.upperBound <= index.docCount, "docRange must lie within the snapshot's documents")
        guard !query.resolved.isEmpty else { return }
        if query.resolved.count == 1 {
            // One term: its postings in the range are the matches, already in order; no scratch.
            let term = query.resolved[0]
            matches.reserve(postingCount(of: term, in: docRange))
            forEachPosting(of: term, query: query, in: docRange) { doc, score in matches.append(doc, score: score) }
            return
        }
        for start in stride(from: docRange.lowerBound, to: docRange.upperBound, by: BM25Matches.scratchWidth) {
            let slice = start..<min(start + BM25Matches.scratchWidth, docRange.upperBound)
            matches.scoreSlice(base: start, width: slice.count) { scratch, touched in
                for term in query.resolved {
                    forEachPosting(of: term, query: query, in: slice) { doc, score in
                        let local = doc - start
                        scratch[local] += score
                        touched[local >> 6] |= 1 << UInt64(local & 63)
                    }
                }
            }
        }
    }

    /// How many of `term`'s postings fall in `docRange` (dead documents included): two binary searches.
    private func postingCount(of term: BM25Query.Term, in docRange: Range<Int>) -> Int {
        index.postings[term.id].docs.withUnsafeBufferPointer { docs in
            Self.lowerBound(docs, UInt32(clamping: docRange.upperBound)) - Self.lowerBound(docs, UInt32(clamping: docRange.lowerBound))
        }
    }

    /// Convenience: ``prepareBM25(queryTerms:)`` then ``bm25Scores(_:docRange:into:)``.
    public func bm25Scores(queryTerms: [String], docRange: Range<Int>, into scores: inout [Float]) {
        bm25Scores(prepareBM25(queryTerms: queryTerms), docRange: docRange, into: &scores)
    }

    private static func lowerBound(_ docs: UnsafeBufferPointer<UInt32>, _ value: UInt32) -> Int {
        var low = 0
        var high = docs.count
        while low < high {
            let middle = (low + high) / 2
            if docs[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    // MARK: - Cosine

    /// Normalizes a query embedding.
    /// - Throws: ``MemoryStoreError`` `.dimensionMismatch` if its length is not ``dimension`` (or the store has
    ///   no vectors yet), `.invalidEntry` if it is zero or not finite.
    public func prepareVector(_ embedding: [Float]) throws(MemoryStoreError) -> VectorQuery {
        guard let dimension = index.vectors.dimension else {
            throw MemoryStoreError(.dimensionMismatch, "query embedding: the store holds no embeddings yet")
        }
        guard embedding.count == dimension else {
            throw MemoryStoreError(
                .dimensionMismatch, "query embedding has \(embedding.count) values, the store's dimension is \(dimension)")
        }
        let norm = VectorSlab.norm(embedding)
        guard norm.isFinite, norm > 0 else {
            throw MemoryStoreError(.invalidEntry, "query embedding must be finite and non-zero")
        }
        return VectorQuery(padded: index.vectors.paddedUnit(embedding))
    }

    /// Writes the cosine similarity of every document in `docRange` into `scores[doc]` (overwriting), and
    /// `-infinity` for deleted documents and those without an embedding. A linear SIMD scan.
    public func cosineScores(_ query: VectorQuery, docRange: Range<Int>, into scores: inout [Float]) {
        index.vectors.scores(query.padded, range: docRange, into: &scores)
    }

    /// Convenience: the cosine scores of `docRange`, indexed from 0 (`result[i]` is doc `docRange.lowerBound + i`).
    public func cosineScores(query: [Float], docRange: Range<Int>) throws(MemoryStoreError) -> [Float] {
        let prepared = try prepareVector(query)
        var scores = [Float](repeating: 0, count: docRange.upperBound)
        cosineScores(prepared, docRange: docRange, into: &scores)
        return Array(scores[docRange])
    }

    // MARK: - Filters and ranking

    /// The documents carrying all of `tags` (exact, case-sensitive) and created at or after `since`.
    public func filter(tags: [String], since: Date?) -> DocumentFilter {
        let required = Array(Set(tags))
        if required.isEmpty && since == nil { return DocumentFilter(bits: nil) }
        let words = (index.docCount + 63) / 64
        var bits: [UInt64]
        if required.isEmpty {
            bits = [UInt64](repeating: 0, count: words)
            for doc in 0..<index.docCount where index.alive[doc] { bits[doc >> 6] |= 1 << UInt64(doc & 63) }
        } else {
            let lists = required.map { index.tagDocs[$0] ?? [] }.sorted { $0.count < $1.count }
            bits = [UInt64](repeating: 0, count: words)
            for doc in lists[0] where index.alive[Int(doc)] { bits[Int(doc) >> 6] |= 1 << UInt64(doc & 63) }
            for list in lists.dropFirst() {
                var other = [UInt64](repeating: 0, count: words)
                for doc in list { other[Int(doc) >> 6] |= 1 << UInt64(doc & 63) }
                for word in 0..<words { bits[word] &= other[word] }
            }
        }
        if let since {
            let threshold = since.timeIntervalSince1970
            for word in 0..<words where bits[word] != 0 {
                var remaining = bits[word]
                while remaining != 0 {
                    let bit = remaining.trailingZeroBitCount
                    remaining &= remaining - 1
                    if index.createdAt[word * 64 + bit] < threshold { bits[word] &= ~(1 << UInt64(bit)) }
                }
            }
        }
        return DocumentFilter(bits: bits)
    }

    /// Ranks scored documents: the top `limit` by BM25 (documents with score > 0), by cosine (documents
    /// with an embedding), or fused by reciprocal rank when both are given. `bm25` and `cosine` are indexed
    /// by document number (as filled by the scoring functions over `0..<documentCount`).
    public func rank(bm25: [Float]?, cosine: [Float]?, filter: DocumentFilter, limit: Int) -> [ScoredEntry] {
        scoredEntries(rankDocuments(bm25: bm25, cosine: cosine, filter: filter, limit: limit))
    }

    /// The entries of ranked (live) documents, with their scores.
    private func scoredEntries(_ ranked: [RankedDocument]) -> [ScoredEntry] {
        ranked.map { ranked in
            ScoredEntry(entry: index.entries[ranked.doc]!, score: ranked.score, bm25: ranked.bm25, cosine: ranked.cosine)
        }
    }

    /// What ``rank(bm25:cosine:filter:limit:)`` ranks, as document numbers: no entry is copied (read them
    /// with ``entry(at:)``, or ``withEntry(at:_:)``).
    public func rankDocuments(bm25: [Float]?, cosine: [Float]?, filter: DocumentFilter, limit: Int) -> [RankedDocument] {
        guard limit > 0 else { return [] }
        let window = bm25 != nil && cosine != nil ? max(limit, Self.rrfWindow) : limit
        return fuse(
            text: bm25.map { top($0, window: window, filter: filter) { $0 > 0 } },
            vector: cosine.map { top($0, window: window, filter: filter) { $0 > -.infinity } }, limit: limit,
            bm25: { doc in bm25.flatMap { $0[doc] > 0 ? Double($0[doc]) : nil } },
            cosine: { doc in cosine.flatMap { $0[doc] > -.infinity ? Double($0[doc]) : nil } })
    }

    /// ``rankDocuments(bm25:cosine:filter:limit:)-(…,[Float]?,…)`` with sparse BM25 scores: the text ranking
    /// visits the matched documents only. The same ranking for the same scores.
    public func rankDocuments(bm25: BM25Matches?, cosine: [Float]?, filter: DocumentFilter, limit: Int) -> [RankedDocument] {
        guard limit > 0 else { return [] }
        let window = bm25 != nil && cosine != nil ? max(limit, Self.rrfWindow) : limit
        let textRanking = bm25.map { bm25 -> [TopK.Item] in
            var heap = TopK(k: window)
            bm25.matches.withUnsafeBufferPointer { matches in
                // Highest document first: a tie with the worst kept item is then worse (ties prefer the higher
                // document) and turned away, where in ascending order every tie would displace it.
                for match in matches.reversed() {
                    let doc = match.doc
                    guard doc < index.docCount, index.alive[doc], filter.contains(doc) else { continue }
                    heap.insert(score: match.score, doc: doc)
                }
            }
            return heap.sorted()
        }
        return fuse(
            text: textRanking, vector: cosine.map { top($0, window: window, filter: filter) { $0 > -.infinity } },
            limit: limit, bm25: { doc in bm25?.score(of: doc).map(Double.init) },
            cosine: { doc in cosine.flatMap { $0[doc] > -.infinity ? Double($0[doc]) : nil } })
    }

    /// The best `window` documents of a dense score array, among those whose score passes `include`.
    private func top(_ scores: [Float], window: Int, filter: DocumentFilter, include: (Float) -> Bool) -> [TopK.Item] {
        var heap = TopK(k: window)
        scores.withUnsafeBufferPointer { scores in
            // Highest document first, as for sparse scores: ties with the worst kept item are turned away.
            for doc in (0..<min(index.docCount, scores.count)).reversed() {
                let score = scores[doc]
                guard include(score), index.alive[doc], filter.contains(doc) else { continue }
                heap.insert(score: score, doc: doc)
            }
        }
        return heap.sorted()
    }

    /// One ranking as it is, or the two fused by reciprocal rank, cut to `limit`.
    private func fuse(
        text: [TopK.Item]?, vector: [TopK.Item]?, limit: Int, bm25: (Int) -> Double?, cosine: (Int) -> Double?
    ) -> [RankedDocument] {
        func make(_ doc: Int, score: Double) -> RankedDocument {
            RankedDocument(doc: doc, score: score, bm25: bm25(doc), cosine: cosine(doc))
        }
        switch (text, vector) {
        case (let text?, let vector?):
            var fused: [Int: Double] = [:]
            for (rank, item) in text.enumerated() { fused[Int(item.doc), default: 0] += 1 / (Self.rrfK + Double(rank + 1)) }
            for (rank, item) in vector.enumerated() { fused[Int(item.doc), default: 0] += 1 / (Self.rrfK + Double(rank + 1)) }
            let ordered = fused.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }
            return ordered.prefix(limit).map { make($0.key, score: $0.value) }
        case (let text?, nil):
            return text.map { make(Int($0.doc), score: Double($0.score)) }
        case (nil, let vector?):
            return vector.map { make(Int($0.doc), score: Double($0.score)) }
        case (nil, nil):
            return []
        }
    }

    /// Calls `body` with the entry numbered `doc`; returns false (without a call) if it is deleted or out of
    /// range. The entry's references are still counted for the call, as for an ``entry(at:)`` copy (the
    /// compiler copies an array element before passing it to a closure). (Not generic: a caller in another
    /// module would run it unspecialized.)
    @discardableResult
    public func withEntry(at doc: Int, _ body: (MemoryEntry) -> Void) -> Bool {
        guard doc >= 0, doc < index.docCount, index.alive[doc] else { return false }
        return index.entries.withElement(at: doc) { entry in
            guard let entry else { return false }
            body(entry)
            return true
        }
    }

    /// Hands `body` document `doc`'s id, tags and date as JSON text (`"m1"`, `["a","b"]`,
    /// `"2024-03-01T09:00:00.000Z"`), written when it was indexed, and its text; returns false (without a
    /// call) if it is deleted, out of range, or has no such text (an id or tag that needs a JSON escape, a
    /// year outside 0…9999: then ``withEntry(at:_:)``). The entry is not copied for the call, nor are the JSON values.
    @discardableResult
    public func withEntryJSON(
        at doc: Int,
        _ body: (
            _ id: UnsafeBufferPointer<UInt8>, _ tags: UnsafeBufferPointer<UInt8>, _ createdAt: UnsafeBufferPointer<UInt8>,
            _ text: String
        ) -> Void
    ) -> Bool {
        guard doc >= 0, doc < index.docCount, index.alive[doc] else { return false }
        return index.entryJSON.withValues(of: doc) { id, tags, createdAt in
            index.entries.withElementAddress(at: doc) { entry in
                // A live document's entry is there (removing one clears both). Read as the `MemoryEntry` it
                // holds (an optional of it is laid out as it is): unwrapping the optional would copy all of it.
                assert(entry.pointee != nil && MemoryLayout<MemoryEntry?>.size == MemoryLayout<MemoryEntry>.size)
                entry.withMemoryRebound(to: MemoryEntry.self, capacity: 1) { entry in
                    body(id, tags, createdAt, entry.pointee.text)
                }
            }
            return true
        } ?? false
    }

    /// The ``TextTraits`` of document `doc`'s text (none for a document out of range).
    public func textTraits(at doc: Int) -> TextTraits {
        guard doc >= 0, doc < index.docCount else { return [] }
        return index.textTraits[doc]
    }

    /// Hands `body` the UTF-8 of document `doc`'s `createdAt` as ``ISO8601Millis/format(_:)`` writes it, kept
    /// in the index with its id and tags (formatted here for a document that has no JSON text kept: an id or
    /// tag to escape, a year outside 0…9999); returns false (without a call) if the document is deleted or out
    /// of range.
    @discardableResult
    public func withFormattedCreatedAt(at doc: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        guard doc >= 0, doc < index.docCount, index.alive[doc] else { return false }
        // Kept, quoted, with the document's other JSON values (most documents).
        let kept = index.entryJSON.withValues(of: doc) { _, _, quoted -> Bool in
            body(UnsafeBufferPointer(rebasing: quoted.dropFirst().dropLast()))
            return true
        }
        if kept == true { return true }
        return withEntry(at: doc) { entry in ISO8601Millis.withFormatted(entry.createdAt, body) }
    }

    /// Hybrid search in one call: BM25 over `query`'s terms and/or cosine against `embedding`, filtered,
    /// fused (see the type's documentation) and cut to `limit`. An empty query (no terms after tokenization)
    /// with no embedding returns `[]`.
    /// - Throws: ``MemoryStoreError`` if `embedding` has the wrong dimension or is zero.
    public func search(
        query: String, limit: Int = 10, tags: [String] = [], since: Date? = nil, embedding: [Float]? = nil
    ) throws(MemoryStoreError) -> [ScoredEntry] {
        let count = index.docCount
        let vector = try embedding.map { embedding throws(MemoryStoreError) in try prepareVector(embedding) }
        let prepared = prepareBM25(queryTerms: queryTerms(query))
        var bm25: BM25Matches?
        if !prepared.terms.isEmpty {
            var matches = BM25Matches()
            bm25Scores(prepared, docRange: 0..<count, into: &matches)
            bm25 = matches
        }
        var cosine: [Float]?
        if let vector {
            var scores = [Float](repeating: 0, count: count)
            cosineScores(vector, docRange: 0..<count, into: &scores)
            cosine = scores
        }
        return scoredEntries(rankDocuments(bm25: bm25, cosine: cosine, filter: filter(tags: tags, since: since), limit: limit))
    }

    /// Short snippets of `entry.text` around the query terms it contains, in text order: each snippet spans
    /// about `context` characters either side of its matches, snapped to word boundaries, with `…` where text
    /// was cut; overlapping windows merge; whitespace collapses to single spaces. `[]` if no term matches.
    public func highlights(for entry: MemoryEntry, queryTerms: [String], maxSnippets: Int = 3, context: Int = 40)
        -> [String]
    {
        highlighter(queryTerms: queryTerms, maxSnippets: maxSnippets, context: context).snippets(entry.text)
    }

    /// Highlights for many results of one query: the query's terms are tokenized once.
    public func highlighter(queryTerms: [String], maxSnippets: Int = 3, context: Int = 40) -> Highlighter {
        Highlighter(tokenizer: tokenizer, terms: queryTerms.flatMap { tokenizer.terms($0) }, maxSnippets: maxSnippets, context: context)
    }

    /// The highlighter for a prepared query's terms (already normalized: not tokenized again).
    public func highlighter(for query: BM25Query, maxSnippets: Int = 3, context: Int = 40) -> Highlighter {
        Highlighter(tokenizer: tokenizer, terms: query.terms, maxSnippets: maxSnippets, context: context)
    }
}
