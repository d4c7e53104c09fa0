import Foundation
import MemoryStore
import RouterCore
import RouterTesting
import Testing
@testable import SearchPlugin

@Suite struct MemoryIndexTests {
    private func harness(_ store: MemoryStore, options: SearchOptions = SearchOptions()) -> OperationHarness<MemoryIndexHandler> {
        OperationHarness(MemoryIndexHandler(options: options), clock: ManualClock(), services: services(store))
    }

    private func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("search-index-\(UUID().uuidString)")
    }

    @Test func indexedEntriesAreDurableAcrossReopen() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try MemoryStore.open(directory: directory, dimension: 3)
        let events = await harness(store).run(
            json: #"""
                {"entries": [
                  {"id": "a", "text": "Prefers dark roast coffee.", "tags": ["preference", "coffee"],
                   "createdAt": "2024-03-01T09:00:00.250Z", "embedding": [1, 0, 0]},
                  {"id": "b", "text": "Atlas ships in May.", "createdAt": "2024-03-02T10:00:00+01:00"},
                  {"id": "c", "text": "Call the dentist on Friday.", "tags": ["reminder"], "createdAt": "2024-03-03"}
                ]}
                """#)
        #expect(
            events == [
                .progress("validating", 0, 0), .progress("writing", 1, 0.2), .progress("writing", 1, 1),
                .complete(["indexed": 3, "storage": "disk", "durable": true]),
            ])
        try store.close()

        let (reopened, report) = try MemoryStore.open(directory: directory, dimension: 3)
        #expect(report.entriesLoaded == 3)
        #expect(
            reopened.get(id: "a")
                == MemoryEntry(
                    id: "a", text: "Prefers dark roast coffee.", tags: ["preference", "coffee"],
                    createdAt: Date(timeIntervalSince1970: 1_709_283_600.25), embedding: [1, 0, 0]))
        #expect(reopened.get(id: "b")?.createdAt == Date(timeIntervalSince1970: 1_709_370_000))
        #expect(reopened.get(id: "b")?.tags == [])
        #expect(reopened.get(id: "c")?.createdAt == Date(timeIntervalSince1970: 1_709_424_000))
        try reopened.close()
    }

    @Test func aMissingCreatedAtMeansNow() async throws {
        let store = MemoryStore.inMemory()
        let before = Date()
        let events = await harness(store).run(json: #"{"entries":[{"id":"n","text":"just now"}]}"#)
        let after = Date()
        // No data directory: the answer says the store is in memory only.
        #expect(completion(events) == ["indexed": 1, "storage": "memory", "durable": false])
        let createdAt = try #require(store.get(id: "n")?.createdAt)
        #expect(createdAt >= before && createdAt <= after)
    }

    @Test func indexedEntriesAreSearchableAndReplaceByID() async throws {
        let store = MemoryStore.inMemory()
        _ = await harness(store).run(json: #"{"entries":[{"id":"x","text":"green tea in the morning"}]}"#)
        _ = await harness(store).run(json: #"{"entries":[{"id":"x","text":"black coffee in the morning"},{"id":"y","text":"coffee beans"}]}"#)
        #expect(store.count == 2)
        #expect(store.get(id: "x")?.text == "black coffee in the morning")
        let search = OperationHarness(MemorySearchHandler(), clock: ManualClock(), services: services(store))
        #expect(resultIDs(await search.run(json: #"{"query":"tea"}"#)) == [])
        #expect(Set(resultIDs(await search.run(json: #"{"query":"coffee"}"#))) == ["x", "y"])
    }

    @Test(arguments: [
        (#"{"entries":[{"id":"a","text":"ok"},{"id":"b","text":"ok"},{"id":"c","text":"ok"},{"id":"d","text":""}]}"#,
         "data.entries[3].text: must not be empty"),
        (#"{"entries":[{"id":"a","text":" \n\t"}]}"#, "data.entries[0].text: must not be empty"),
        (#"{"entries":[{"id":"","text":"ok"}]}"#, "data.entries[0].id: must not be empty"),
        (#"{"entries":[{"id":"a","text":"ok","tags":["x",""]}]}"#, "data.entries[0].tags[1]: must not be empty"),
        (#"{"entries":[{"id":"a","text":"ok"},{"id":"b","text":"ok","createdAt":"last week"}]}"#,
         #"data.entries[1].createdAt: expected an ISO 8601 date, got "last week""#),
        (#"{"entries":[{"id":"a","text":"ok","embedding":[1,2,3]}]}"#, "data.entries[0].embedding: expected 4 dimensions, got 3"),
        (#"{"entries":[{"id":"a","text":"ok","embedding":[0,0,0,0]}]}"#,
         "data.entries[0].embedding: must not be all zeros (cosine similarity is undefined)"),
        (#"{"entries":[{"id":"a"}]}"#, "data.entries[0].text: missing"),
        (#"{"entries":[{"id":7,"text":"ok"}]}"#, "data.entries[0].id: expected string, found 7"),
        (#"{"entries":{}}"#, "data.entries: expected array, found object"),
    ])
    func everyEntryIsValidatedAndNothingIsWrittenOnAnError(json: String, message: String) async throws {
        let store = MemoryStore.inMemory(dimension: 4)
        let events = await harness(store).run(json: json)
        #expect(events.last == .error(code: "bad_request", message: message))
        #expect(store.count == 0)
    }

    @Test func anOverlongIDIsRejected() async {
        let store = MemoryStore.inMemory()
        let id = String(repeating: "x", count: MemoryStore.maxIDBytes + 1)
        let events = await harness(store).run(json: #"{"entries":[{"id":"\#(id)","text":"ok"}]}"#)
        #expect(events.last == .error(code: "bad_request", message: "data.entries[0].id: must be at most 1024 bytes"))
    }

    @Test func theFirstEmbeddingOfABatchFixesTheDimensionOfANewStore() async throws {
        let store = MemoryStore.inMemory()
        let events = await harness(store).run(
            json: #"{"entries":[{"id":"a","text":"ok","embedding":[1,2,3]},{"id":"b","text":"ok","embedding":[1,2,3,4]}]}"#)
        #expect(events.last == .error(code: "bad_request", message: "data.entries[1].embedding: expected 3 dimensions, got 4"))
        #expect(store.count == 0)
    }

    @Test func aBatchOverTheLimitIsPayloadTooLarge() async throws {
        let store = MemoryStore.inMemory()
        let entries = (0..<3).map { #"{"id":"e\#($0)","text":"entry \#($0)"}"# }.joined(separator: ",")
        let limited = harness(store, options: SearchOptions(maxIndexBatch: 2))
        #expect(
            await limited.run(json: #"{"entries":[\#(entries)]}"#) == [
                .error(code: "payload_too_large", message: "data.entries: 3 items, over the limit of 2 (maxIndexBatch)")
            ])
        #expect(store.count == 0)
        let atLimit = await harness(store, options: SearchOptions(maxIndexBatch: 3)).run(json: #"{"entries":[\#(entries)]}"#)
        #expect(completion(atLimit)?["indexed"] == 3)
    }

    @Test func aClosedStoreFailsWithoutInternals() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try MemoryStore.open(directory: directory)
        try store.close()
        let events = await harness(store).run(json: #"{"entries":[{"id":"a","text":"ok"}]}"#)
        #expect(events.last == .error(code: "memory_index_error", message: "memory_index failed: the memory store could not write the entries durably"))
    }
}

@Suite struct SearchPluginOptionsTests {
    @Test func theDefaultsApplyWithoutOptions() throws {
        #expect(try SearchOptions.decode([:]) == SearchOptions(defaultLimit: 10, maxLimit: 1000, maxIndexBatch: 1000))
        let handlers = try searchPlugin.makeHandlers()
        #expect(searchPlugin.name == "search")
        #expect(handlers.map { type(of: $0).messageType } == ["memory_search", "memory_index"])
        #expect(handlers.map { type(of: $0).eventPrefix } == ["search", "index"])
        #expect(MemorySearchHandler.timeout == .seconds(120))
        #expect(MemorySearchHandler.stages.map(\.name) == ["parsing", "scoring", "ranking"])
        #expect(MemoryIndexHandler.stages.map(\.name) == ["validating", "writing"])
    }

    @Test func optionsAreReadFromTheConfiguration() throws {
        let options = try SearchOptions.decode(["defaultLimit": 5, "maxLimit": 50, "maxIndexBatch": 200])
        #expect(options == SearchOptions(defaultLimit: 5, maxLimit: 50, maxIndexBatch: 200))
        let handlers = try searchPlugin.makeHandlers(options: ["maxLimit": 50])
        #expect((handlers[0] as? MemorySearchHandler)?.options.maxLimit == 50)
        #expect((handlers[1] as? MemoryIndexHandler)?.options.maxIndexBatch == 1000)
    }

    static let invalidOptions: [(JSONValue, String)] = [
        (["maxLimt": 5], #"options.maxLimt: unknown key (did you mean "maxLimit"? known: maxLimit, defaultLimit, maxIndexBatch)"#),
        (["maxLimt": 5, "x": 1], #"options: unknown keys "maxLimt", "x" (known: maxLimit, defaultLimit, maxIndexBatch)"#),
        (["defaultLimit": 0], "options.defaultLimit: must be between 1 and 1000, got 0"),
        (["defaultLimit": 20, "maxLimit": 10], "options.defaultLimit: must be between 1 and 10, got 20"),
        (["maxLimit": 0], "options.maxLimit: must be between 1 and 100000, got 0"),
        (["maxIndexBatch": 1_000_000], "options.maxIndexBatch: must be between 1 and 100000, got 1000000"),
        (["maxLimit": "many"], "options.maxLimit: expected integer, found string"),
        ([1, 2], "options: expected object, found array"),
    ]

    @Test(arguments: invalidOptions)
    func invalidOptionsAreRejectedWithThePath(options: JSONValue, message: String) throws {
        #expect(throws: JSONDecodingFailure.self) { try searchPlugin.makeHandlers(options: options) }
        do {
            _ = try SearchOptions.decode(options)
            Issue.record("accepted \(options)")
        } catch let failure as JSONDecodingFailure {
            #expect(failure.description == message)
        }
    }

    @Test func aSmallMaxLimitLowersTheDefaultLimit() throws {
        #expect(try SearchOptions.decode(["maxLimit": 5]).defaultLimit == 5)
    }
}
