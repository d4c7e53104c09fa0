import Foundation
import MemoryStatsPlugin
import MemoryStore
import RouterCore
import RouterTesting
import Testing

/// The plugin alone: no sockets, no host. `OperationHarness` runs the handler through the router's
/// own runner (decoding, stages, final-event rule) and returns the exact events.
@Suite struct MemoryStatsHandlerTests {
    static func services(_ entries: [MemoryEntry]) throws -> ServiceRegistry {
        let store = MemoryStore.inMemory()
        try store.upsert(entries)
        var services = ServiceRegistry()
        services.register(store)
        return services
    }

    static let entries = [
        MemoryEntry(id: "a", text: "tea at nine", tags: ["drinks", "morning"], createdAt: Date(timeIntervalSince1970: 0)),
        MemoryEntry(id: "b", text: "coffee after lunch", tags: ["drinks"], createdAt: Date(timeIntervalSince1970: 0)),
        MemoryEntry(id: "c", text: "no tags here", createdAt: Date(timeIntervalSince1970: 0)),
    ]

    @Test func countsMemoriesAndStreamsTheTopTags() async throws {
        let harness = OperationHarness(MemoryStatsHandler(), services: try Self.services(Self.entries))
        let events = await harness.run(json: #"{"top": 2}"#)
        #expect(events == [
            .progress("scanning", 0, 0),
            .progress("ranking", 1, 0.75),
            .chunk(index: 0, json: ["tag": "drinks", "count": 2]),
            .chunk(index: 1, json: ["tag": "morning", "count": 1]),
            .complete(["memories": 3, "tagged": 2, "distinctTags": 2]),
        ])
    }

    @Test func aTopAboveTheConfiguredMaximumIsABadRequest() async throws {
        let harness = OperationHarness(
            MemoryStatsHandler(options: MemoryStatsOptions(maxTopTags: 3)), services: try Self.services([]))
        let events = await harness.run(json: #"{"top": 4}"#)
        #expect(events == [.error(code: "bad_request", message: "data.top: must be between 1 and 3, got 4")])
    }

    @Test func aMistypedFieldIsABadRequestWithItsPath() async {
        let events = await OperationHarness(MemoryStatsHandler()).run(json: #"{"top": "five"}"#)
        #expect(events == [.error(code: "bad_request", message: "data.top: expected integer, found string")])
    }

    @Test func cancellingAfterTheFirstChunkEndsWithCancelled() async throws {
        let harness = OperationHarness(MemoryStatsHandler(), services: try Self.services(Self.entries))
        let events = await harness.run(MemoryStatsHandler.Request(top: 2), cancellingAfterEvents: 3)
        #expect(events.count == 4)
        #expect(events.last == .error(code: "cancelled", message: "request cancelled"))
    }

    @Test func optionsConfigureThePluginAndBadOnesNameTheirPath() throws {
        #expect(try memoryStatsPlugin.makeHandlers(options: ["maxTopTags": 3]).count == 1)
        #expect(throws: JSONDecodingFailure(path: "options.maxTopTags", reason: "must be between 1 and 1000, got 0")) {
            try memoryStatsPlugin.makeHandlers(options: ["maxTopTags": 0])
        }
        #expect(throws: JSONDecodingFailure(path: "options.maxTopTag", reason: #"unknown key (did you mean "maxTopTags"? known: maxTopTags)"#)) {
            try memoryStatsPlugin.makeHandlers(options: ["maxTopTag": 3])
        }
    }
}
