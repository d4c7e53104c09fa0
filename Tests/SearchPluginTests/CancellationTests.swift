import Foundation
import MemoryStore
import RouterCore
import RouterTesting
import Synchronization
import Testing
@testable import SearchPlugin

@Suite(.serialized) struct CancellationTests {
    static let corpusSize = 200_000

    /// 200,000 synthetic memories with 64-dimension embeddings, built once for the suite.
    static let store: MemoryStore = {
        let store = MemoryStore.inMemory(dimension: 64)
        try! store.upsert(SyntheticMemories.generate(count: corpusSize, seed: 11, dimension: 64))
        return store
    }()

    @Test func cancellingALargeHybridSearchStopsScoringPromptly() async throws {
        let store = Self.store
        let embedding = try #require(store.get(id: "mem-000001")?.embedding)
        let scored = Counter()
        var handler = MemorySearchHandler()
        handler.onSliceScored = { scored.set($0) }
        let harness = OperationHarness(handler, services: services(store), progressInterval: .milliseconds(10))
        let request = MemorySearchHandler.Request(query: "coffee project meeting notes", limit: 50, embedding: embedding)
        let cancel = Mutex<Int?>(nil)
        let events = await harness.run(request) { control in
            // Wait for a scoring report past the stage's start: the search is in the middle of the corpus.
            // Woken by each new event (or the end of the run), never by a timer.
            while !control.events.contains(where: { event in
                if case .progress("scoring", _, let progress, _) = event { return progress > 0.1 }
                return event.isFinal
            }) {
                let seen = control.events.count
                await control.waitForEvents(seen + 1)
                if control.events.count == seen { break }  // the run is over
            }
            cancel.withLock { $0 = scored.current }
            control.cancel()
        }
        // `run` returns once the handler has returned, not only once the final event is out: what was scored
        // by then is all the handler did.
        let scoredAtCancel = try #require(cancel.withLock { $0 })

        #expect(events.last == .error(code: "cancelled", message: "request cancelled"))
        #expect(!events.contains { if case .complete = $0 { true } else { false } })
        #expect(scoredAtCancel < Self.corpusSize, "the cancel arrived in the middle of scoring")
        // At most the slice in flight when the cancel arrived is finished; then the handler returns.
        #expect(scored.current <= scoredAtCancel + MemorySearchHandler.sliceSize)
        #expect(scored.current < Self.corpusSize)
    }

    @Test func theSameSearchUncancelledScoresTheWholeCorpus() async throws {
        let store = Self.store
        let embedding = try #require(store.get(id: "mem-000001")?.embedding)
        let scored = Counter()
        var handler = MemorySearchHandler()
        handler.onSliceScored = { scored.set($0) }
        let events = await OperationHarness(handler, services: services(store))
            .run(MemorySearchHandler.Request(query: "coffee project meeting notes", limit: 50, embedding: embedding))
        #expect(scored.current == Self.corpusSize)
        #expect(resultIDs(events).count == 50)
        #expect(total(events) == Self.corpusSize)  // every entry has an embedding
        // The query's embedding is mem-000001's own: it is among the results, and they are ranked by score.
        #expect(resultIDs(events).contains("mem-000001"))
        #expect(resultScores(events) == resultScores(events).sorted(by: >))
    }
}
