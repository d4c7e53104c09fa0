import Foundation
import MemoryStore
import RouterCore
import RouterTesting
import Testing
@testable import SearchPlugin

@Suite struct MemorySearchTests {
    private func harness(_ store: MemoryStore, options: SearchOptions = SearchOptions()) -> OperationHarness<MemorySearchHandler> {
        OperationHarness(MemorySearchHandler(options: options), clock: ManualClock(), services: services(store))
    }

    @Test func aSmallSearchProducesTheExactEventSequence() async throws {
        let events = try await harness(Corpus.store()).run(json: #"{"query":"dark roast coffee","limit":2}"#)
        #expect(
            Array(events.dropLast()) == [
                .progress("parsing", 0, 0), .progress("scoring", 1, 0.1), .progress("ranking", 2, 0.9),
                .progress("ranking", 2, 1),
            ])
        let values = progressValues(events)
        #expect(values == values.sorted() && values.last == 1)
        let result = try #require(completion(events))
        #expect(resultIDs(events) == ["m1", "m7"])
        #expect(total(events) == 6)  // m1, m3, m4, m5, m7, m8 contain a query term
        guard case .array(let results)? = result["results"] else {
            Issue.record("no results array")
            return
        }
        #expect(results[0]["text"] == .string(Corpus.entries[0].text))
        #expect(results[0]["tags"] == ["preference", "coffee"])
        #expect(results[0]["createdAt"] == "2024-01-10T08:00:00.000Z")
        #expect(results[0]["highlights"] == ["I prefer dark roast coffee, brewed strong in a French press every…"])
        #expect(results[1]["highlights"] == [.string(Corpus.entries[6].text)])
        let scores = resultScores(events)
        #expect(scores.count == 2 && scores[0] > scores[1] && scores[1] > 0)
        #expect(Set(result.objectKeys) == ["results", "total"])
    }

    @Test func theCoffeePreferenceRanksFirstAndBM25FollowsTermCoverage() async throws {
        let events = try await harness(Corpus.store()).run(json: #"{"query":"dark roast coffee","limit":10}"#)
        let ids = resultIDs(events)
        #expect(ids.count == 6)
        #expect(ids.prefix(2) == ["m1", "m7"])  // the only ones with two or three query terms
        #expect(Set(ids) == ["m1", "m3", "m4", "m5", "m7", "m8"])
        let scores = resultScores(events)
        #expect(scores == scores.sorted(by: >))
    }

    @Test func limitCutsTheResultsButTotalCountsEveryMatch() async throws {
        let events = try await harness(Corpus.store()).run(json: #"{"query":"coffee","limit":1}"#)
        #expect(resultIDs(events).count == 1)
        #expect(total(events) == 3)  // m1, m3, m7
    }

    @Test func theDefaultLimitComesFromTheOptions() async throws {
        let events = try await harness(Corpus.store(), options: SearchOptions(defaultLimit: 2))
            .run(json: #"{"query":"dark roast coffee"}"#)
        #expect(resultIDs(events) == ["m1", "m7"])
        #expect(total(events) == 6)
    }

    @Test func tagsFilterKeepsEntriesCarryingAllOfThem() async throws {
        let store = try Corpus.store()
        let preference = await harness(store).run(json: #"{"query":"dark roast coffee","tags":["preference"]}"#)
        #expect(resultIDs(preference) == ["m1", "m8"])
        #expect(total(preference) == 2)
        let both = await harness(store).run(json: #"{"query":"dark roast coffee","tags":["preference","coffee"]}"#)
        #expect(resultIDs(both) == ["m1"])
        let none = await harness(store).run(json: #"{"query":"dark roast coffee","tags":["Preference"]}"#)
        #expect(resultIDs(none) == [] && total(none) == 0)
    }

    @Test func sinceFilterKeepsEntriesCreatedAtOrAfterIt() async throws {
        let store = try Corpus.store()
        let recent = await harness(store).run(json: #"{"query":"dark roast coffee","since":"2024-05-01"}"#)
        #expect(resultIDs(recent) == ["m7", "m8"])
        // Inclusive, with an offset: 2024-05-11T21:20:00+02:00 is m7's instant.
        let exact = await harness(store).run(json: #"{"query":"coffee","since":"2024-05-11T21:20:00+02:00"}"#)
        #expect(resultIDs(exact) == ["m7"])
        let later = await harness(store).run(json: #"{"query":"coffee","since":"2024-05-11T19:20:00.001Z"}"#)
        #expect(resultIDs(later) == [] && total(later) == 0)
    }

    @Test func anEmbeddingReordersByReciprocalRankFusion() async throws {
        let store = try Corpus.store()
        let work = "[0, 0, 1, 0]"
        let text = await harness(store).run(json: #"{"query":"dark roast coffee","limit":8}"#)
        let vector = await harness(store).run(json: #"{"query":"","embedding":\#(work),"limit":8}"#)
        let hybrid = await harness(store).run(json: #"{"query":"dark roast coffee","embedding":\#(work),"limit":8}"#)

        // Cosine alone: the work memories first; m8 has no embedding and never appears.
        #expect(resultIDs(vector).prefix(3) == ["m4", "m3", "m6"])
        #expect(resultIDs(vector).count == 7 && total(vector) == 7)
        #expect(abs(resultScores(vector)[0] - 0.8 / (0.69 as Double).squareRoot()) < 1e-5)
        #expect(resultIDs(text).first == "m1")

        // Hybrid: the "work" embedding lifts m4 (a roast meeting) above the coffee preference.
        let hybridIDs = resultIDs(hybrid)
        #expect(hybridIDs.first == "m4")
        #expect(hybridIDs.firstIndex(of: "m4")! < hybridIDs.firstIndex(of: "m1")!)
        #expect(total(hybrid) == 8)  // every entry: 7 with an embedding, m8 by text

        // Each score is Σ 1/(60 + rank) over the two rankings it appears in.
        let textRank = Dictionary(uniqueKeysWithValues: resultIDs(text).enumerated().map { ($1, $0 + 1) })
        let vectorRank = Dictionary(uniqueKeysWithValues: resultIDs(vector).enumerated().map { ($1, $0 + 1) })
        for (id, score) in zip(hybridIDs, resultScores(hybrid)) {
            let expected = [textRank[id], vectorRank[id]].compactMap { $0 }.reduce(0.0) { $0 + 1 / (60 + Double($1)) }
            #expect(abs(score - expected) < 1e-12, "\(id)")
        }
        #expect(resultScores(hybrid) == resultScores(hybrid).sorted(by: >))
    }

    @Test func anEmbeddingOnAStoreWithoutEmbeddingsIsIgnored() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(Corpus.entries.map { MemoryEntry(id: $0.id, text: $0.text, tags: $0.tags, createdAt: $0.createdAt) })
        let events = await harness(store).run(json: #"{"query":"dark roast coffee","embedding":[1,2,3],"limit":2}"#)
        #expect(resultIDs(events) == ["m1", "m7"])
    }

    @Test func aQueryOfStopWordsOnlyFindsNothing() async throws {
        let events = try await harness(Corpus.store()).run(json: #"{"query":"the and of"}"#)
        #expect(events == [.progress("parsing", 0, 0), .progress("ranking", 2, 1), .complete(["results": [], "total": 0])])
    }

    @Test func anEmptyStoreFindsNothing() async throws {
        let events = await harness(MemoryStore.inMemory()).run(json: #"{"query":"coffee"}"#)
        #expect(completion(events) == ["results": [], "total": 0])
        #expect(progressValues(events).last == 1)
    }

    @Test(arguments: [
        (#"{"query":"coffee","limit":0}"#, "data.limit: must be between 1 and 1000"),
        (#"{"query":"coffee","limit":1001}"#, "data.limit: must be between 1 and 1000"),
        (#"{"query":"coffee","limit":"ten"}"#, "data.limit: expected integer, found string"),
        (#"{"query":"coffee","limit":2.5}"#, "data.limit: expected integer, found 2.5"),
        (#"{"limit":3}"#, "data.query: missing"),
        (#"{"query":"   "}"#, "data.query: must not be empty"),
        (#"{"query":"coffee","since":"yesterday"}"#, #"data.since: expected an ISO 8601 date, got "yesterday""#),
        (#"{"query":"coffee","since":"2024-03-01T09:00:00"}"#, #"data.since: expected an ISO 8601 date, got "2024-03-01T09:00:00""#),
        (#"{"query":"coffee","since":20240301}"#, "data.since: expected string, found 20240301"),
        (#"{"query":"coffee","tags":["work",""]}"#, "data.tags[1]: must not be empty"),
        (#"{"query":"coffee","tags":"work"}"#, "data.tags: expected array, found string"),
        (#"{"query":"coffee","embedding":[1,2,3]}"#, "data.embedding: expected 384 dimensions, got 3"),
        (#"{"query":"coffee","embedding":[1,"x"]}"#, "data.embedding[1]: expected number, found string"),
    ])
    func validationErrorsNameThePath(json: String, message: String) async throws {
        let store = MemoryStore.inMemory(dimension: 384)
        let events = await harness(store).run(json: json)
        #expect(events == [.error(code: "bad_request", message: message)])
    }

    @Test func embeddingValuesAreValidated() async throws {
        let store = try Corpus.store()
        let zeros = await harness(store).run(json: #"{"query":"coffee","embedding":[0,0,0,0]}"#)
        #expect(zeros == [.error(code: "bad_request", message: "data.embedding: must not be all zeros (cosine similarity is undefined)")])
        let huge = await harness(store).run(json: #"{"query":"coffee","embedding":[1e39,0,0,0]}"#)
        #expect(huge == [.error(code: "bad_request", message: "data.embedding: values must be finite 32-bit floats")])
        let short = await harness(store).run(json: #"{"query":"coffee","embedding":[1,0,0]}"#)
        #expect(short == [.error(code: "bad_request", message: "data.embedding: expected 4 dimensions, got 3")])
    }

    @Test func theLimitRangeFollowsTheOptions() async throws {
        let events = try await harness(Corpus.store(), options: SearchOptions(maxLimit: 5)).run(json: #"{"query":"coffee","limit":6}"#)
        #expect(events == [.error(code: "bad_request", message: "data.limit: must be between 1 and 5")])
    }

    @Test func aMissingStoreIsAnOperationError() async {
        let events = await OperationHarness(MemorySearchHandler(), clock: ManualClock()).run(json: #"{"query":"coffee"}"#)
        #expect(events == [.error(code: "memory_search_error", message: "memory_search failed: a service it needs is not available on this server")])
    }

    @Test func aSearchOverManySlicesReportsScoringProgressMonotonically() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 40_000, seed: 7))
        let slices = Counter()
        var handler = MemorySearchHandler()
        handler.onSliceScored = { _ in slices.set(slices.current + 1) }
        // A real clock and no coalescing interval: every report passes the throttle.
        let harness = OperationHarness(handler, services: services(store), progressInterval: .zero)
        let events = await harness.run(json: #"{"query":"coffee project notes","limit":5}"#)
        let scoring = events.compactMap { event -> Double? in
            if case .progress("scoring", _, let progress, _) = event { return progress }
            return nil
        }
        let sliceCount = (40_000 + MemorySearchHandler.sliceSize - 1) / MemorySearchHandler.sliceSize
        #expect(slices.current == sliceCount)
        #expect(scoring.count == sliceCount + 1)  // the stage's start, then one per slice
        #expect(scoring.first == 0.1 && scoring.last == 0.9)
        #expect(scoring == scoring.sorted())
        #expect(progressValues(events).last == 1)
        #expect(resultIDs(events).count == 5)
        #expect((total(events) ?? 0) > 5)
    }

    /// `total` counts every filtered match over all slices (the handler counts each slice's BM25 matches
    /// only), and the results are the store's own ranking.
    @Test func totalCountsTheFilteredMatchesOfEverySlice() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 40_000, seed: 7))
        try store.delete(ids: (1...40_000).filter { $0 % 6 == 0 }.map { String(format: "mem-%06d", $0) })
        let snapshot = store.searchSnapshot()
        let query = snapshot.prepareBM25(query: "coffee project notes")
        var scores = [Float](repeating: 0, count: snapshot.documentCount)
        snapshot.bm25Scores(query, docRange: 0..<snapshot.documentCount, into: &scores)
        let harness = OperationHarness(MemorySearchHandler(), services: services(store))
        for tags in [[], ["work"]] {
            let filter = snapshot.filter(tags: tags, since: nil)
            let expected = (0..<snapshot.documentCount).filter { scores[$0] > 0 && filter.contains($0) }.count
            let tagList = tags.map { "\"\($0)\"" }.joined(separator: ",")
            let events = await harness.run(json: #"{"query":"coffee project notes","limit":7,"tags":["# + tagList + "]}")
            #expect(expected > MemorySearchHandler.sliceSize / 10, "matches in many slices")
            #expect(total(events) == expected, "tags \(tags)")
            let reference = try store.search(query: "coffee project notes", limit: 7, tags: tags)
            #expect(resultIDs(events) == reference.map(\.entry.id), "tags \(tags)")
        }
    }

    @Test func aTimeoutDuringScoringStopsTheSearch() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 40_000, seed: 7))
        let clock = ManualClock()
        let slices = Counter()
        let sleepsCut = Counter()
        var handler = MemorySearchHandler()
        handler.onSliceScored = { scored in
            slices.set(scored)
            clock.advance(by: .seconds(2))  // the deadline passes in the middle of scoring …
            do {
                try await Task.sleep(for: .seconds(60))  // … and the runner's cancellation cuts this short
            } catch {
                sleepsCut.set(1)
            }
        }
        let harness = OperationHarness(handler, clock: clock, services: services(store), timeout: .seconds(1))
        let events = await harness.run(json: #"{"query":"coffee"}"#)
        // The harness returns once the handler has: its 60 s sleep ended by cancellation, not by running out.
        #expect(sleepsCut.current == 1, "the 60 s sleep was not cut short")
        #expect(
            events == [
                .progress("parsing", 0, 0), .progress("scoring", 1, 0.1),
                .error(code: "memory_search_timeout", message: "memory_search exceeded its 1000 ms timeout during stage \"scoring\" (2 of 3)"),
            ])
        #expect(slices.current == MemorySearchHandler.sliceSize, "scoring stopped after the first slice")
    }
}

extension JSONValue {
    var objectKeys: [String] {
        if case .object(let members) = self { return Array(members.keys) }
        return []
    }
}
