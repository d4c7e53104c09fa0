import Foundation
public import RouterCore
import MemoryStore

/// `memory_search`: hybrid BM25 + cosine search over the shared ``MemoryStore`` (DESIGN §8).
///
/// Request `data`: `{"query": String, "limit": Int?, "tags": [String]?, "since": String?, "embedding": [Float]?}`.
/// - `query`: free text, tokenized like the stored memories; may be empty only when `embedding` is given.
/// - `limit`: results wanted, `1...maxLimit` (``SearchOptions``; default `defaultLimit`).
/// - `tags`: only entries carrying *all* of them (exact, case-sensitive).
/// - `since`: only entries created at or after this ISO 8601 date-time (or calendar date, midnight UTC).
/// - `embedding`: a query vector of the store's dimension. It is used when entries have embeddings; on a
///   store that holds none yet it is ignored (there is nothing to compare it with).
///
/// Response (`search_complete`): `{"results": [{"id", "text", "score", "tags", "createdAt", "highlights"}],
/// "total": Int}`, results by descending `score`; `total` counts the entries that matched (passed the
/// filters and scored: a query term for BM25, an embedding for cosine) before the cut to `limit`.
///
/// **Ranking.** BM25 (k1 = 1.2, b = 0.75) over the store's inverted index; with an embedding, also cosine
/// similarity against the store's vectors. When both signals are present they are fused by **reciprocal
/// rank fusion** (Cormack, Clarke & Büttcher 2009): `score(d) = Σ 1 / (k + rank(d))` over the BM25 ranking and
/// the cosine ranking (ranks from 1, each ranking cut to its best `max(limit, 100)` candidates), with
/// **k = 60** (``SearchSnapshot/rrfK``). RRF needs no score normalization (BM25 is unbounded, cosine is in
/// −1…1) and rewards entries both signals rank well. With one signal, `score` is that signal's value.
///
/// **Progress and cancellation.** Stages `parsing` → `scoring` → `ranking` (weights 1, 8, 1). The corpus is
/// scored in slices of ``sliceSize`` documents; after each slice the handler reports `scoring` progress as
/// the fraction of documents scored and checks `Task.checkCancellation()`, so a cancel or timeout stops it
/// within one slice (a few milliseconds) even on a million entries; between slices it yields to other tasks
/// once it has run a millisecond since it last did.
///
/// Validation failures are `bad_request` with the path: `data.limit: must be between 1 and 1000`,
/// `data.since: expected an ISO 8601 date, got "yesterday"`, `data.embedding: expected 384 dimensions, got 3`.
public struct MemorySearchHandler: OperationHandler {
    /// The request's `data`.
    public struct Request: Decodable, Sendable, Equatable {
        public var query: String
        public var limit: Int?
        public var tags: [String]?
        public var since: String?
        public var embedding: [Float]?

        public init(query: String, limit: Int? = nil, tags: [String]? = nil, since: String? = nil, embedding: [Float]? = nil) {
            self.query = query
            self.limit = limit
            self.tags = tags
            self.since = since
            self.embedding = embedding
        }
    }

    /// One search result.
    public struct Result: Encodable, Sendable, Equatable {
        public var id: String
        public var text: String
        /// BM25, cosine, or the RRF score (see the type's documentation); descending across results.
        public var score: Double
        public var tags: [String]
        /// ISO 8601, UTC, milliseconds: `2024-03-01T09:00:00.000Z`.
        public var createdAt: String
        /// Snippets of `text` around the query terms it contains (empty for a match by embedding only).
        public var highlights: [String]

        private enum CodingKeys: String, CodingKey {
            case id, tags, createdAt, text, score, highlights
        }

        /// A score that is a `Float` (BM25 or cosine alone: the store computes them in 32 bits) is written with
        /// the shortest digits that read back as that `Float`; an RRF score with a `Double`'s.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            // Its id, tags and date first: a result written from the store copies them from one place.
            try container.encode(id, forKey: .id)
            try container.encode(tags, forKey: .tags)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(text, forKey: .text)
            if let float = Float(exactly: score) {
                try container.encode(float, forKey: .score)
            } else {
                try container.encode(score, forKey: .score)
            }
            try container.encode(highlights, forKey: .highlights)
        }

        /// `"score":…` as ``encode(to:)`` writes it.
        static func writeScore(_ score: Double, to writer: inout JSONMembersWriter) {
            if let float = Float(exactly: score) {
                writer.member("score", float)
            } else {
                writer.member("score", score)
            }
        }
    }

    /// The fields of `search_complete`.
    ///
    /// A response from ``handle(_:context:)`` holds the ranked documents of the snapshot it searched, not
    /// `Result` values: the router writes them straight into the message (``JSONMembersWritable``), and
    /// ``results`` makes the `Result`s only when read.
    public struct Response: Encodable, Sendable, Equatable {
        /// The results, by descending `score`.
        public var results: [Result] {
            get { hits?.results ?? stored }
            set {
                stored = newValue
                hits = nil
            }
        }
        /// Entries that matched before the cut to `limit`.
        public var total: Int
        private var stored: [Result]
        private var hits: SearchHits?

        init(results: [Result], total: Int) {
            self.stored = results
            self.total = total
        }

        init(hits: SearchHits, total: Int) {
            self.stored = []
            self.hits = hits
            self.total = total
        }

        private enum CodingKeys: String, CodingKey {
            case results, total
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(results, forKey: .results)
            try container.encode(total, forKey: .total)
        }

        public static func == (lhs: Response, rhs: Response) -> Bool {
            lhs.total == rhs.total && lhs.results == rhs.results
        }
    }

    /// Ranked documents of one snapshot, with the query's highlighter: a search's results before they are
    /// made into `Result`s (or written without being made).
    struct SearchHits: Sendable {
        let snapshot: SearchSnapshot
        let ranked: [RankedDocument]
        let highlighter: Highlighter?

        var results: [Result] {
            ranked.compactMap { ranked in
                snapshot.entry(at: ranked.doc).map { entry in
                    Result(
                        id: entry.id, text: entry.text, score: ranked.score, tags: entry.tags,
                        createdAt: ISO8601.format(entry.createdAt), highlights: highlighter?.snippets(entry.text) ?? [])
                }
            }
        }

        /// Writes what `results` would encode, from the entries in place.
        func write(to writer: inout JSONMembersWriter) {
            // A snapshot never loses an entry, so every ranked document is there (`compactMap` above agrees).
            writer.member("results", objectCount: ranked.count) { writer, index in
                let ranked = ranked[index]
                // The index knows whether the text needs escaping and what the highlighter would scan it for.
                let traits = snapshot.textTraits(at: ranked.doc)
                let plain = traits.contains(.jsonPlain)
                func writeTextScoreAndHighlights(_ text: String, to writer: inout JSONMembersWriter) {
                    if plain {
                        writer.member("text", unescaped: text)
                    } else {
                        writer.member("text", text)
                    }
                    Result.writeScore(ranked.score, to: &writer)
                    // A snippet of text JSON need not escape is its characters, spaces and ellipses: nor does it.
                    writer.member("highlights", unescaped: plain) { write in
                        highlighter?.forEachSnippet(of: text, traits: traits, write)
                    }
                }
                // Most entries' id, tags and date were written when they were indexed: copied, not read.
                let copied = snapshot.withEntryJSON(at: ranked.doc) { id, tags, createdAt, text in
                    writer.member("id", json: id)
                    writer.member("tags", json: tags)
                    writer.member("createdAt", json: createdAt)
                    writeTextScoreAndHighlights(text, to: &writer)
                }
                guard !copied else { return }
                // An entry with no JSON kept (an id or tag to escape, a 5-digit year): written from the entry.
                snapshot.withEntry(at: ranked.doc) { entry in
                    writer.member("id", entry.id)
                    writer.member("tags", entry.tags)
                    ISO8601Millis.withFormatted(entry.createdAt) { writer.member("createdAt", utf8: $0) }
                    writeTextScoreAndHighlights(entry.text, to: &writer)
                }
            }
        }
    }

    public static let messageType = "memory_search"
    public static let eventPrefix = "search"
    public static let timeout: Duration = .seconds(120)
    public static let stages = [
        ProgressStage("parsing", weight: 1), ProgressStage("scoring", weight: 8), ProgressStage("ranking", weight: 1),
    ]
    public static let requiredServices = [ServiceKey(MemoryStore.self)]  // the host registers it
    /// Documents scored between two progress reports and cancellation checks.
    public static let sliceSize = 16_384

    public let options: SearchOptions

    /// Awaited after each scored slice with the number of documents scored so far: lets tests observe that
    /// a cancelled search stops scoring, and act (advance a clock) in the middle of a search.
    var onSliceScored: (@Sendable (Int) async -> Void)?

    /// A handler with the plugin's options (limits).
    /// Checked before the request runs (`payload_too_large`): a query of a million terms would cost seconds.
    public var inputLimits: InputLimits {
        [
            .maxBytes("query", 64 << 10, name: "maxQueryBytes"), .maxTerms("query", 1024, name: "maxQueryTerms"),
            .maxItems("tags", 64, name: "maxTags"), .maxItems("embedding", 4096, name: "maxEmbeddingDimension"),
        ]
    }

    public init(options: SearchOptions = SearchOptions()) {
        self.options = options
    }

    public func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let store = try context.services.require(MemoryStore.self)
        let snapshot = store.searchSnapshot()
        let parameters = try Parameters(request, options: options, dimension: snapshot.dimension)

        context.advance(to: "parsing")
        let prepared = snapshot.prepareBM25(query: request.query)
        let textQuery = prepared.terms.isEmpty ? nil : prepared
        let vectorQuery: VectorQuery?
        do {
            vectorQuery = try parameters.embedding.map { embedding throws(MemoryStoreError) in
                try snapshot.prepareVector(embedding)
            }
        } catch {
            // Validated against this snapshot's dimension above, so only a store inconsistency lands here.
            throw OperationError.badRequest(path: "data.embedding", error.message)
        }
        let filter = snapshot.filter(tags: parameters.tags, since: parameters.since)
        // No query term occurs in the store and no embedding was given: nothing can match, so nothing is scored.
        guard textQuery?.isEmpty == false || vectorQuery != nil else {
            context.progress("ranking", 1)
            return Response(results: [], total: 0)
        }

        context.advance(to: "scoring")
        let count = snapshot.documentCount
        var bm25 = textQuery.map { _ in BM25Matches() }
        var cosine = vectorQuery.map { _ in [Float](repeating: 0, count: count) }
        var total = 0
        var start = 0
        var pacing = YieldPacing(start: .now)
        while start < count {
            // Yield between slices once a millisecond has passed (``YieldPacing``): a long search must not
            // hold a handler thread for its whole duration while other requests wait, and a short one should
            // not pay a hop per slice.
            if start > 0, pacing.shouldYield(at: .now) { await Task.yield() }
            try Task.checkCancellation()
            let range = start..<min(start + Self.sliceSize, count)
            let matchedBefore = bm25?.count ?? 0
            if let textQuery, !textQuery.isEmpty { snapshot.bm25Scores(textQuery, docRange: range, into: &bm25!) }
            if let vectorQuery { snapshot.cosineScores(vectorQuery, docRange: range, into: &cosine!) }
            total += Self.countMatches(in: range, bm25: bm25, from: matchedBefore, cosine: cosine, filter: filter)
            start = range.upperBound
            await onSliceScored?(start)
            context.progress("scoring", Double(start) / Double(count))
        }
        try Task.checkCancellation()

        context.advance(to: "ranking")
        let ranked = snapshot.rankDocuments(bm25: bm25, cosine: cosine, filter: filter, limit: parameters.limit)
        let highlighter = ranked.isEmpty ? nil : textQuery.map { snapshot.highlighter(for: $0) }
        context.progress("ranking", 1)
        return Response(hits: SearchHits(snapshot: snapshot, ranked: ranked, highlighter: highlighter), total: total)
    }

    /// Documents in `range` that pass `filter` and scored (a query term, or a cosine, i.e. an embedding);
    /// the range's BM25 matches are `bm25`'s from `first` on. Without an embedding only those matches are
    /// visited. Deleted documents never score, so they are never counted.
    private static func countMatches(
        in range: Range<Int>, bm25: BM25Matches?, from first: Int, cosine: [Float]?, filter: DocumentFilter
    ) -> Int {
        let text = bm25?.matches ?? []
        var matches = 0
        guard let cosine else {
            // Unfiltered (no tags, no since: most searches), every match counts: no pass over them.
            if filter.isUnfiltered { return text.count - first }
            for position in first..<text.count where filter.contains(text[position].doc) { matches += 1 }
            return matches
        }
        cosine.withUnsafeBufferPointer { vector in
            text.withUnsafeBufferPointer { text in
                // Both in document order: the next BM25 match is the only one `doc` can be.
                var next = first
                for doc in range {
                    var scored = vector[doc] > -.infinity
                    if next < text.count, text[next].doc == doc {
                        scored = true
                        next += 1
                    }
                    if scored && filter.contains(doc) { matches += 1 }
                }
            }
        }
        return matches
    }
}

extension MemorySearchHandler {
    /// A request checked against the options and the store's embedding dimension.
    struct Parameters {
        var limit: Int
        var tags: [String]
        var since: Date?
        /// nil when none was given, or when the store holds no embeddings.
        var embedding: [Float]?

        init(_ request: Request, options: SearchOptions, dimension: Int?) throws(OperationError) {
            limit = request.limit ?? options.defaultLimit
            guard (1...options.maxLimit).contains(limit) else {
                throw .badRequest(path: "data.limit", "must be between 1 and \(options.maxLimit)")
            }
            tags = request.tags ?? []
            if let empty = tags.firstIndex(where: \.isEmpty) {
                throw .badRequest(path: "data.tags[\(empty)]", "must not be empty")
            }
            if let text = request.since {
                guard let date = ISO8601.parse(text) else {
                    throw .badRequest(path: "data.since", "expected an ISO 8601 date, got \(Self.quoted(text))")
                }
                since = date
            }
            if let embedding = request.embedding {
                try Self.validate(embedding, path: "data.embedding", dimension: dimension)
                self.embedding = dimension == nil ? nil : embedding
            }
            let hasText = Self.containsNonWhitespace(request.query)
            guard hasText || request.embedding != nil else {
                throw .badRequest(path: "data.query", "must not be empty")
            }
        }

        /// Whether `text` has a character that is not whitespace; ASCII text is checked byte by byte, without
        /// Unicode property lookups.
        static func containsNonWhitespace(_ text: String) -> Bool {
            for byte in text.utf8 {
                guard byte < 0x80 else { return text.contains { !$0.isWhitespace } }
                if byte != 0x20 && !(0x09...0x0D).contains(byte) { return true }
            }
            return false
        }

        /// Checks an embedding's length (when the dimension is known), finiteness and norm.
        static func validate(_ embedding: [Float], path: String, dimension: Int?) throws(OperationError) {
            if let dimension, embedding.count != dimension {
                throw .badRequest(path: path, "expected \(dimension) dimensions, got \(embedding.count)")
            }
            guard !embedding.isEmpty else { throw .badRequest(path: path, "must not be empty") }
            guard embedding.allSatisfy(\.isFinite) else {
                throw .badRequest(path: path, "values must be finite 32-bit floats")
            }
            guard embedding.contains(where: { $0 != 0 }) else {
                throw .badRequest(path: path, "must not be all zeros (cosine similarity is undefined)")
            }
        }

        /// A string as it would appear in JSON, shortened if long.
        static func quoted(_ text: String) -> String {
            let shown = text.count > 64 ? String(text.prefix(64)) + "…" : text
            var writer = ""
            for character in shown.unicodeScalars {
                switch character {
                case "\"": writer += "\\\""
                case "\\": writer += "\\\\"
                case "\n": writer += "\\n"
                default: writer.unicodeScalars.append(character)
                }
            }
            return "\"\(writer)\""
        }
    }
}

/// The common request, `{"query": …}` with or without `limit`, read without `Decoder`; any other shape
/// (filters, an embedding, a wrong type) is decoded through `Decodable`, which reports what is wrong.
extension MemorySearchHandler.Request: JSONValueReadable {
    package init?(data: RequestData) {
        guard let count = data.memberCount, count <= 2, case .string(let query)? = data["query"] else { return nil }
        switch data["limit"] {
        case nil where count == 1: self.init(query: query)
        case .number(let number)?: guard let limit = Int(exactly: number) else { return nil }
            self.init(query: query, limit: limit)
        default: return nil
        }
    }
}

/// Written straight to JSON text (a search is the busiest operation): the same bytes as the synthesized
/// `Encodable` conformance, top-level keys sorted, each result's keys in the order `Result` encodes them.
extension MemorySearchHandler.Response: JSONMembersWritable {
    package func writeMembers(to writer: inout JSONMembersWriter) {
        if let hits {
            hits.write(to: &writer)
        } else {
            writeStored(to: &writer)
        }
        writer.member("total", total)
    }

    private func writeStored(to writer: inout JSONMembersWriter) {
        let results = stored
        writer.member("results", objectCount: results.count) { writer, index in
            let result = results[index]
            writer.member("id", result.id)
            writer.member("tags", result.tags)
            writer.member("createdAt", result.createdAt)
            writer.member("text", result.text)
            MemorySearchHandler.Result.writeScore(result.score, to: &writer)
            writer.member("highlights", result.highlights)
        }
    }
}
