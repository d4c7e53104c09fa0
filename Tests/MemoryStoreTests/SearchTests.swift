import Foundation
import Testing

@testable import MemoryStore

@Suite("Search")
struct SearchTests {
    /// d0 "coffee coffee tea" (3 terms), d1 "tea with milk" (2: "with" is a stop word),
    /// d2 "dark roast coffee beans" (4), d3 "green tea and lemon" (3). N = 4, avgdl = 12 / 4 = 3.
    func smallCorpus() throws -> MemoryStore {
        let store = MemoryStore.inMemory()
        try store.upsert([
            entry("d0", "coffee coffee tea"),
            entry("d1", "tea with milk"),
            entry("d2", "dark roast coffee beans"),
            entry("d3", "green tea and lemon"),
        ])
        return store
    }

    @Test func bm25MatchesHandComputedScores() throws {
        let results = try smallCorpus().search(query: "coffee")
        #expect(results.map(\.entry.id) == ["d0", "d2"])
        // idf(coffee) = ln(1 + (4 − 2 + 0.5) / (2 + 0.5)) = ln 2.
        // d0: tf 2, |D| = 3 = avgdl: 2 · 2.2 / (2 + 1.2) = 1.375 → 0.953077.
        // d2: tf 1, |D| = 4: 2.2 / (1 + 1.2 · (0.25 + 0.75 · 4/3)) = 2.2 / 2.5 = 0.88 → 0.609970.
        #expect(abs(results[0].score - 0.953_077) < 1e-5)
        #expect(abs(results[1].score - 0.609_970) < 1e-5)
        #expect(results[0].bm25 == results[0].score)
        #expect(results[0].cosine == nil)
    }

    @Test func bm25OrderForAMultiTermQuery() throws {
        // idf(tea) = ln(1 + 1.5/3.5) = 0.356675, idf(milk) = ln(1 + 3.5/1.5) = 1.203973.
        // d1 (|D| = 2): (0.356675 + 1.203973) · 2.2 / (1 + 1.2 · (0.25 + 0.75 · 2/3)) = 1.807066.
        // d0 and d3 (|D| = 3, tf(tea) 1): 0.356675 each; the tie goes to the later document, d3.
        let results = try smallCorpus().search(query: "Milk? TEA!")
        #expect(results.map(\.entry.id) == ["d1", "d3", "d0"])
        #expect(abs(results[0].score - 1.807_066) < 1e-5)
        #expect(abs(results[1].score - 0.356_675) < 1e-5)
        #expect(results[1].score == results[2].score)
    }

    /// Ties at the cut keep the later documents, however many tie and whichever scores are ranked (sparse,
    /// dense, cosine): a ranking must not depend on the order the candidates were visited in.
    @Test func tiesAtTheCutKeepTheLaterDocuments() throws {
        let store = MemoryStore.inMemory(dimension: 2)
        try store.upsert((0..<12).map { entry("t\($0)", "coffee notes", embedding: [1, 0]) } + [entry("x", "tea", embedding: [0, 1])])
        #expect(try store.search(query: "coffee", limit: 3).map(\.entry.id) == ["t11", "t10", "t9"])
        #expect(try store.search(query: "", limit: 3, embedding: [1, 0]).map(\.entry.id) == ["t11", "t10", "t9"])
        let snapshot = store.searchSnapshot()
        var dense = [Float](repeating: 0, count: snapshot.documentCount)
        snapshot.bm25Scores(snapshot.prepareBM25(query: "coffee"), docRange: 0..<snapshot.documentCount, into: &dense)
        let ranked = snapshot.rankDocuments(bm25: dense, cosine: nil, filter: snapshot.filter(tags: [], since: nil), limit: 3)
        #expect(ranked.map(\.doc) == [11, 10, 9])
    }

    @Test func bm25IgnoresDeletedDocumentsInStatistics() throws {
        let store = try smallCorpus()
        try store.delete(ids: ["d3"])
        // N = 3, df(tea) = 2, avgdl = 3: idf = ln(1 + 1.5/2.5); d0: tf 1, |D| 3 → factor 1.
        let results = try store.search(query: "tea")
        #expect(results.map(\.entry.id) == ["d1", "d0"])
        #expect(abs(results[1].score - log(1.6)) < 1e-5)
    }

    /// A query string prepared at once (tokenized once) is the query its terms give, prepared one by one:
    /// the same distinct terms in the same order, the same scores, the same highlights.
    @Test(arguments: [
        "project atlas migration postgres", "Project PROJECT project's atlas", "the and of", "", "café Cafe\u{301} 東京 user's",
        "don't  dont\tDON'T", "migration, migration; MIGRATION!",
    ])
    func aQueryPreparedAtOnceIsItsTermsPrepared(_ text: String) throws {
        let store = MemoryStore.inMemory(dimension: 16)
        try store.upsert(SyntheticMemories.generate(count: 500, seed: 5, dimension: 16))
        try store.upsert([MemoryEntry(id: "x", text: "Café in 東京: the user's project, don't migrate.", createdAt: Date(timeIntervalSince1970: 0))])
        let snapshot = store.searchSnapshot()
        let atOnce = snapshot.prepareBM25(query: text)
        let byTerms = snapshot.prepareBM25(queryTerms: snapshot.queryTerms(text))
        #expect(atOnce.terms == byTerms.terms)
        #expect(atOnce.isEmpty == byTerms.isEmpty)
        var scoresAtOnce = [Float](repeating: 0, count: snapshot.documentCount)
        var scoresByTerms = scoresAtOnce
        snapshot.bm25Scores(atOnce, docRange: 0..<snapshot.documentCount, into: &scoresAtOnce)
        snapshot.bm25Scores(byTerms, docRange: 0..<snapshot.documentCount, into: &scoresByTerms)
        #expect(scoresAtOnce == scoresByTerms)
        let highlighted = snapshot.highlighter(for: atOnce)
        let reference = snapshot.highlighter(queryTerms: snapshot.queryTerms(text))
        for doc in 0..<snapshot.documentCount {
            guard let entry = snapshot.entry(at: doc) else { continue }
            #expect(highlighted.snippets(entry.text) == reference.snippets(entry.text), "\(entry.text)")
        }
    }

    /// A query's terms are kept once each, first occurrences in order, for short and long queries.
    @Test(arguments: [
        ([], []), (["a"], ["a"]), (["a", "b", "c"], ["a", "b", "c"]), (["a", "b", "a", "c", "b"], ["a", "b", "c"]),
        ((0..<40).map { "t\($0 % 25)" }, (0..<25).map { "t\($0)" }), ((0..<20).map { "t\($0)" }, (0..<20).map { "t\($0)" }),
    ])
    func queryTermsAreDeduplicatedInOrder(_ terms: [String], _ expected: [String]) {
        #expect(SearchSnapshot.deduplicated(terms) == expected)
    }

    @Test func slicedScoringEqualsWholeCorpusScoring() throws {
        let store = MemoryStore.inMemory(dimension: 16)
        try store.upsert(SyntheticMemories.generate(count: 3000, seed: 11, dimension: 16))
        try store.delete(ids: (1...3000).filter { $0 % 9 == 0 }.map { String(format: "mem-%06d", $0) })
        let snapshot = store.searchSnapshot()
        let query = snapshot.prepareBM25(queryTerms: snapshot.queryTerms("project atlas migration postgres"))
        #expect(query.terms == ["project", "atlas", "migration", "postgres"])
        var whole = [Float](repeating: 0, count: snapshot.documentCount)
        snapshot.bm25Scores(query, docRange: 0..<snapshot.documentCount, into: &whole)
        var sliced = [Float](repeating: 0, count: snapshot.documentCount)
        for start in stride(from: 0, to: snapshot.documentCount, by: 257) {
            snapshot.bm25Scores(query, docRange: start..<min(start + 257, snapshot.documentCount), into: &sliced)
        }
        #expect(whole == sliced)
        #expect(whole.contains { $0 > 0 })

        let vector = try snapshot.prepareVector(SyntheticMemories.centroid(for: "travel", dimension: 16))
        var cosineWhole = [Float](repeating: 0, count: snapshot.documentCount)
        snapshot.cosineScores(vector, docRange: 0..<snapshot.documentCount, into: &cosineWhole)
        var cosineSliced = [Float](repeating: 0, count: snapshot.documentCount)
        for start in stride(from: 0, to: snapshot.documentCount, by: 1000) {
            snapshot.cosineScores(vector, docRange: start..<min(start + 1000, snapshot.documentCount), into: &cosineSliced)
        }
        #expect(cosineWhole == cosineSliced)
        #expect(cosineWhole[8] == -.infinity)  // mem-000009 was deleted
        let slice = try snapshot.cosineScores(query: SyntheticMemories.centroid(for: "travel", dimension: 16), docRange: 100..<200)
        #expect(slice == Array(cosineWhole[100..<200]))
    }

    @Test func cosineRanking() throws {
        let store = MemoryStore.inMemory(dimension: 3)
        try store.upsert([
            entry("same", "a", embedding: [2, 0, 0]),
            entry("close", "b", embedding: [0.9, 0.1, 0]),
            entry("orthogonal", "c", embedding: [0, 5, 0]),
            entry("opposite", "d", embedding: [-1, 0, 0]),
            entry("none", "e"),
        ])
        let results = try store.search(query: "", limit: 10, embedding: [3, 0, 0])
        #expect(results.map(\.entry.id) == ["same", "close", "orthogonal", "opposite"])
        #expect(abs(results[0].score - 1) < 1e-6)
        #expect(abs(results[1].score - 0.9 / 0.82.squareRoot()) < 1e-5)
        #expect(abs(results[2].score) < 1e-6)
        #expect(abs(results[3].score + 1) < 1e-6)
        #expect(results[1].cosine == results[1].score)
    }

    @Test func simdDotProductMatchesScalarForOddDimensions() throws {
        for dimension in [1, 7, 8, 9, 16, 17, 33, 384] {
            var random = SplitMix64(seed: UInt64(dimension))
            let a = (0..<dimension).map { _ in random.nextGaussian() }
            let b = (0..<dimension).map { _ in random.nextGaussian() }
            let store = MemoryStore.inMemory(dimension: dimension)
            try store.upsert(entry("a", "x", embedding: a))
            let score = try store.searchSnapshot().cosineScores(query: b, docRange: 0..<1)[0]
            var dot = 0.0, na = 0.0, nb = 0.0
            for i in 0..<dimension {
                dot += Double(a[i]) * Double(b[i])
                na += Double(a[i]) * Double(a[i])
                nb += Double(b[i]) * Double(b[i])
            }
            #expect(abs(Double(score) - dot / (na * nb).squareRoot()) < 1e-4, "dimension \(dimension)")
        }
    }

    @Test func reciprocalRankFusionOrder() throws {
        // BM25 for "coffee": A (tf 2) > B (tf 1); C and D do not match.
        // Cosine with [1, 0]: B (1.0) > C (0.894) > A (0.196) > D (−1).
        // RRF (k = 60): B = 1/62 + 1/61, A = 1/61 + 1/63, C = 1/62, D = 1/64.
        let store = MemoryStore.inMemory(dimension: 2)
        try store.upsert([
            entry("A", "coffee coffee", embedding: [0.2, 1]),
            entry("B", "coffee notes", embedding: [1, 0]),
            entry("C", "tea notes", embedding: [1, 0.5]),
            entry("D", "water", embedding: [-1, 0]),
        ])
        let results = try store.search(query: "coffee", limit: 10, embedding: [1, 0])
        #expect(results.map(\.entry.id) == ["B", "A", "C", "D"])
        #expect(abs(results[0].score - (1.0 / 62 + 1.0 / 61)) < 1e-12)
        #expect(abs(results[1].score - (1.0 / 61 + 1.0 / 63)) < 1e-12)
        #expect(abs(results[3].score - 1.0 / 64) < 1e-12)
        #expect(results[1].bm25 != nil && results[1].cosine != nil)
        #expect(results[2].bm25 == nil)
        #expect(try store.search(query: "coffee", limit: 2, embedding: [1, 0]).map(\.entry.id) == ["B", "A"])
    }

    /// A snapshot of `count` synthetic memories with every `deletingEvery`-th one deleted (dead slots).
    func syntheticSnapshot(count: Int, seed: UInt64, dimension: Int, deletingEvery step: Int) throws -> SearchSnapshot {
        let store = MemoryStore.inMemory(dimension: dimension)
        try store.upsert(SyntheticMemories.generate(count: count, seed: seed, dimension: dimension))
        try store.delete(ids: (1...count).filter { $0 % step == 0 }.map { String(format: "mem-%06d", $0) })
        return store.searchSnapshot()
    }

    /// Sparse BM25 scores (the matched documents only) are the dense scores: the same documents, the same
    /// `Float`s, in document order, however the corpus is sliced (slices wider than the scratch included).
    @Test func sparseScoresAreTheDenseScores() throws {
        let snapshot = try syntheticSnapshot(count: 20_000, seed: 3, dimension: 4, deletingEvery: 7)
        let count = snapshot.documentCount
        for text in ["project atlas migration postgres", "coffee", "the and of", "zzzz", "notes travel budget"] {
            let query = snapshot.prepareBM25(query: text)
            var dense = [Float](repeating: 0, count: count)
            snapshot.bm25Scores(query, docRange: 0..<count, into: &dense)
            let expected = (0..<count).filter { dense[$0] > 0 }
            for slice in [count, 16_384, 5_000, 257] {
                var sparse = BM25Matches()
                for start in stride(from: 0, to: count, by: slice) {
                    snapshot.bm25Scores(query, docRange: start..<min(start + slice, count), into: &sparse)
                }
                #expect(sparse.matches.map(\.doc) == expected, "\(text), slices of \(slice)")
                #expect(sparse.matches.map(\.score) == expected.map { dense[$0] }, "\(text), slices of \(slice)")
                #expect(expected.allSatisfy { sparse.score(of: $0) == dense[$0] })
                #expect(sparse.score(of: count) == nil && sparse.score(of: -1) == nil)
            }
            if ["zzzz", "the and of"].contains(text) { #expect(expected.isEmpty) } else { #expect(expected.count > 10, "\(text)") }
        }
    }

    /// Ranking from sparse BM25 scores is ranking from the dense ones: alone and fused with cosine, with and
    /// without a filter, including ties (many documents share a score in the synthetic corpus).
    @Test func rankingFromSparseScoresIsRankingFromDenseScores() throws {
        let snapshot = try syntheticSnapshot(count: 3_000, seed: 9, dimension: 8, deletingEvery: 5)
        let count = snapshot.documentCount
        var cosine = [Float](repeating: 0, count: count)
        snapshot.cosineScores(
            try snapshot.prepareVector(SyntheticMemories.centroid(for: "travel", dimension: 8)), docRange: 0..<count,
            into: &cosine)
        let filters = [
            snapshot.filter(tags: [], since: nil), snapshot.filter(tags: ["work"], since: nil),
            snapshot.filter(tags: [], since: snapshot.entries()[count / 2].createdAt),
        ]
        var filteredTextRankings = 0
        for text in ["project atlas migration", "coffee notes", "zzzz"] {
            let query = snapshot.prepareBM25(query: text)
            var dense = [Float](repeating: 0, count: count)
            snapshot.bm25Scores(query, docRange: 0..<count, into: &dense)
            var sparse = BM25Matches()
            snapshot.bm25Scores(query, docRange: 0..<count, into: &sparse)
            for (which, filter) in filters.enumerated() {
                for limit in [1, 10, 250] {
                    for vector in [nil, cosine] {
                        let fromDense = snapshot.rankDocuments(bm25: dense, cosine: vector, filter: filter, limit: limit)
                        let fromSparse = snapshot.rankDocuments(bm25: sparse, cosine: vector, filter: filter, limit: limit)
                        #expect(fromSparse == fromDense, "\(text), limit \(limit), cosine \(vector != nil)")
                        if which == 0, text != "zzzz" || vector != nil { #expect(!fromDense.isEmpty, "\(text)") }
                        if which > 0, vector == nil, !fromDense.isEmpty { filteredTextRankings += 1 }
                    }
                }
            }
        }
        #expect(filteredTextRankings >= 6, "the filters leave BM25 results for most queries")
    }

    /// Ranking by document number gives what ranking entries gives, for BM25, cosine and the fusion of both.
    @Test func rankedDocumentsAreTheRankedEntries() throws {
        let store = MemoryStore.inMemory(dimension: 2)
        try store.upsert([
            entry("A", "coffee coffee", embedding: [0.2, 1]), entry("B", "coffee notes", embedding: [1, 0]),
            entry("C", "tea notes", embedding: [1, 0.5]), entry("D", "water", embedding: [-1, 0]),
        ])
        try store.delete(ids: ["C"])
        let snapshot = store.searchSnapshot()
        let count = snapshot.documentCount
        var bm25 = [Float](repeating: 0, count: count)
        snapshot.bm25Scores(snapshot.prepareBM25(query: "coffee notes"), docRange: 0..<count, into: &bm25)
        var cosine = [Float](repeating: 0, count: count)
        snapshot.cosineScores(try snapshot.prepareVector([1, 0]), docRange: 0..<count, into: &cosine)
        let filter = snapshot.filter(tags: [], since: nil)
        for (text, vector) in [(bm25, nil), (nil, cosine), (bm25, cosine)] as [([Float]?, [Float]?)] {
            let entries = snapshot.rank(bm25: text, cosine: vector, filter: filter, limit: 3)
            let documents = snapshot.rankDocuments(bm25: text, cosine: vector, filter: filter, limit: 3)
            #expect(!entries.isEmpty)
            #expect(documents.map { snapshot.entry(at: $0.doc)?.id } == entries.map(\.entry.id))
            #expect(documents.map(\.score) == entries.map(\.score))
            #expect(documents.map(\.bm25) == entries.map(\.bm25) && documents.map(\.cosine) == entries.map(\.cosine))
            for document in documents {
                var seen: String?
                #expect(snapshot.withEntry(at: document.doc) { seen = $0.id })
                #expect(seen == snapshot.entry(at: document.doc)?.id)
            }
        }
        let deleted = try #require((0..<count).first { snapshot.entry(at: $0) == nil })
        #expect(!snapshot.withEntry(at: deleted) { _ in Issue.record("called for a deleted entry") })
        #expect(!snapshot.withEntry(at: count) { _ in Issue.record("called past the end") })
    }

    @Test func tagAndSinceFilters() throws {
        let store = MemoryStore.inMemory()
        try store.upsert([
            entry("old-food", "coffee beans", tags: ["food", "preference"], at: 100),
            entry("new-food", "coffee order", tags: ["preference", "food"], at: 300),
            entry("new-pref", "coffee mug", tags: ["preference"], at: 300),
            entry("newest", "coffee again", tags: ["food", "preference", "extra"], at: 500),
        ])
        #expect(try store.search(query: "coffee", tags: ["food", "preference"]).map(\.entry.id).sorted() == [
            "new-food", "newest", "old-food",
        ])
        #expect(try store.search(query: "coffee", tags: ["food"], since: date(300)).map(\.entry.id).sorted() == [
            "new-food", "newest",
        ])
        #expect(try store.search(query: "coffee", since: date(301)).map(\.entry.id) == ["newest"])
        #expect(try store.search(query: "coffee", tags: ["missing"]).isEmpty)
        #expect(try store.search(query: "coffee", tags: ["Food"]).isEmpty)  // tags are case-sensitive
        try store.delete(ids: ["newest"])
        #expect(try store.search(query: "coffee", tags: ["extra"]).isEmpty)
        let snapshot = store.searchSnapshot()
        let filter = snapshot.filter(tags: ["preference"], since: date(200))
        #expect((0..<snapshot.documentCount).filter { filter.contains($0) }.compactMap { snapshot.entry(at: $0)?.id } == [
            "new-food", "new-pref",
        ])
        #expect(snapshot.filter(tags: [], since: nil).isUnfiltered)
    }

    @Test func limitKeepsTheBestAndEmptyQueriesReturnNothing() throws {
        let store = MemoryStore.inMemory()
        try store.upsert((0..<50).map { entry("e\($0)", String(repeating: "coffee ", count: $0 % 10 + 1) + "filler words here") })
        let all = try store.search(query: "coffee", limit: 50)
        let top = try store.search(query: "coffee", limit: 5)
        #expect(top == Array(all.prefix(5)))
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(try store.search(query: "the and of").isEmpty)
        #expect(try store.search(query: "coffee", limit: 0).isEmpty)
    }

    @Test func highlightsShowContextAroundMatches() throws {
        let store = MemoryStore.inMemory()
        let snapshot = store.searchSnapshot()
        let text = "Project Atlas: migration to Postgres 16 scheduled for March. After a long discussion about staffing, "
            + "the team agreed that postgres upgrades only happen after the release freeze."
        let memory = entry("p", text)
        let snippets = snapshot.highlights(for: memory, queryTerms: ["Postgres"], context: 20)
        #expect(snippets == [
            "…Atlas: migration to Postgres 16 scheduled for…",
            "…team agreed that postgres upgrades only…",
        ])
        // Nearby matches merge into one snippet; the start of the text gets no ellipsis.
        #expect(snapshot.highlights(for: memory, queryTerms: ["atlas migration"], context: 10) == ["Project Atlas: migration to…"])
        #expect(snapshot.highlights(for: memory, queryTerms: ["postgres"], maxSnippets: 1, context: 5) == ["…to Postgres 16…"])
        #expect(snapshot.highlights(for: memory, queryTerms: ["kubernetes"]).isEmpty)
        #expect(snapshot.highlights(for: entry("s", "Short note about tea."), queryTerms: ["tea"]) == ["Short note about tea."])
    }
}
