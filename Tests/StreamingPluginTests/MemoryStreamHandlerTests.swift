import Foundation
import MemoryStore
import RouterCore
import RouterTesting
@testable import StreamingPlugin
import Testing

@Suite struct MemoryStreamHandlerTests {
    let handler = MemoryStreamHandler()

    @Test func declaresItsWireContract() {
        #expect(MemoryStreamHandler.messageType == "memory_stream")
        #expect(MemoryStreamHandler.eventPrefix == "stream")
        #expect(MemoryStreamHandler.timeout == .seconds(600))
        #expect(MemoryStreamHandler.stages.map(\.name) == ["snapshot", "analyzing", "streaming"])
    }

    @Test func exportProducesTheExactEventSequence() async throws {
        let store = try smallStore()
        let fingerprint = StreamAnalyzer.fingerprint(store.allEntries())
        let events = await OperationHarness(handler, clock: ManualClock(), services: services(store))
            .run(json: #"{"analysis": "export", "chunkSize": 2}"#)
        func item(_ id: String, _ text: String, _ tags: [JSONValue], _ date: String) -> JSONValue {
            ["id": .string(id), "text": .string(text), "tags": .array(tags), "createdAt": .string(date)]
        }
        func chunk(_ part: Int, _ items: [JSONValue]) -> JSONValue {
            [
                "part": .number(Double(part)), "analysis": "export", "totalChunks": 3, "items": .array(items),
                "fingerprint": .string(fingerprint),
            ]
        }
        // Weights 1, 1, 8: analyzing starts at 0.1, streaming at 0.2; on a still clock only stage changes and 1.0 pass.
        #expect(
            events == [
                .progress("snapshot", 0, 0), .progress("analyzing", 1, 0.1), .progress("streaming", 2, 0.2),
                .chunk(
                    index: 0,
                    json: chunk(
                        0,
                        [
                            item("a", "Lives in Lyon.", ["fact"], "2024-01-15T10:00:00.000Z"),
                            item("b", "Prefers green tea.", ["preference", "food"], "2024-01-15T10:00:00.000Z"),
                        ])),
                .chunk(
                    index: 1,
                    json: chunk(
                        1,
                        [
                            item("c", "Atlas ships in June.", ["project", "work"], "2024-02-04T10:00:00.000Z"),
                            item("d", "Dislikes coffee.", ["preference", "food"], "2024-04-04T10:00:00.000Z"),
                        ])),
                .chunk(index: 2, json: chunk(2, [item("e", "Atlas demo moved.", ["project", "work"], "2024-04-09T22:00:00.000Z")])),
                .progress("streaming", 2, 1),
                .complete([
                    "analysis": "export", "chunks": 3, "items": 5, "fromChunk": 0, "sentChunks": 3, "sentItems": 5,
                    "chunkSize": 2, "fingerprint": .string(fingerprint),
                ]),
            ])
    }

    @Test func tagStatsAndTimelineAreHandChecked() async throws {
        let harness = OperationHarness(handler, clock: ManualClock(), services: services(try smallStore()))
        let tags = await harness.run(json: #"{"analysis": "tag_stats", "chunkSize": 10}"#).chunks
        #expect(tags.count == 1)
        #expect(
            tags.first?.json["items"]
                == [
                    ["tag": "food", "count": 2, "first": "2024-01-15T10:00:00.000Z", "last": "2024-04-04T10:00:00.000Z"],
                    ["tag": "preference", "count": 2, "first": "2024-01-15T10:00:00.000Z", "last": "2024-04-04T10:00:00.000Z"],
                    ["tag": "project", "count": 2, "first": "2024-02-04T10:00:00.000Z", "last": "2024-04-09T22:00:00.000Z"],
                    ["tag": "work", "count": 2, "first": "2024-02-04T10:00:00.000Z", "last": "2024-04-09T22:00:00.000Z"],
                    ["tag": "fact", "count": 1, "first": "2024-01-15T10:00:00.000Z", "last": "2024-01-15T10:00:00.000Z"],
                ])
        let months = await harness.run(json: #"{"analysis": "timeline", "chunkSize": 3}"#).chunks
        #expect(months.map(\.json["part"]) == [0, 1])
        #expect(
            months.flatMap { $0.json["items"]?.array ?? [] }
                == [
                    ["month": "2024-01", "count": 2], ["month": "2024-02", "count": 1], ["month": "2024-03", "count": 0],
                    ["month": "2024-04", "count": 2],
                ])
    }

    @Test func filtersByTagsAndDates() async throws {
        let harness = OperationHarness(handler, clock: ManualClock(), services: services(try smallStore()))
        let events = await harness.run(
            json: #"{"analysis": "export", "filter": {"tags": ["preference", "food"], "since": "2024-01-16T00:00:00Z"}}"#)
        #expect(events.chunks.flatMap { $0.json["items"]?.array ?? [] }.map { $0["id"] } == ["d"])
        let until = await harness.run(json: #"{"analysis": "export", "filter": {"until": "2024-02-04T10:00:00Z"}}"#)
        #expect(until.chunks.flatMap { $0.json["items"]?.array ?? [] }.map { $0["id"] } == ["a", "b"])
        #expect(until.last?.isFinal == true)
    }

    @Test(arguments: [("export", 7), ("tag_stats", 2), ("timeline", 4)])
    func aResumedStreamSendsExactlyTheRemainingChunks(analysis: String, chunkSize: Int) async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 60, seed: 11))
        let harness = OperationHarness(handler, clock: ManualClock(), services: services(store))
        let full = await harness.run(json: #"{"analysis": "\#(analysis)", "chunkSize": \#(chunkSize)}"#)
        let n = full.chunks.count
        #expect(n >= 4, "the sequence must have several chunks")
        #expect(full.chunks.map(\.index) == Array(0..<n))
        #expect(full.chunks.map { $0.json["part"]?.int } == Array(0..<n))
        let k = n / 2
        let fingerprint = full.chunks[0].json["fingerprint"]!
        let resumed = await harness.run(
            json: #"{"analysis": "\#(analysis)", "chunkSize": \#(chunkSize), "fromChunk": \#(k), "fingerprint": \#(fingerprint.jsonText)}"#)
        // The router numbers this request's chunks from 0; the content, `part` included, is that of chunks k…n-1.
        #expect(resumed.chunks.map(\.index) == Array(0..<(n - k)))
        #expect(resumed.chunks.map(\.json) == full.chunks[k...].map(\.json))
        guard case .complete(let summary) = resumed.last, case .complete(let fullSummary) = full.last else {
            Issue.record("both runs must complete: \(resumed.last.map(\.description) ?? "nil")")
            return
        }
        #expect(summary["fromChunk"]?.int == k)
        #expect(summary["sentChunks"]?.int == n - k)
        #expect(summary["chunks"] == fullSummary["chunks"])
        #expect(summary["items"] == fullSummary["items"])
        let itemsSent = resumed.chunks.reduce(0) { $0 + ($1.json["items"]?.array?.count ?? 0) }
        #expect(summary["sentItems"]?.int == itemsSent)
    }

    @Test func resumingAtTheEndSendsNothingAndPastTheEndIsABadRequest() async throws {
        let harness = OperationHarness(handler, clock: ManualClock(), services: services(try smallStore()))
        let atEnd = await harness.run(json: #"{"analysis": "export", "chunkSize": 2, "fromChunk": 3}"#)
        #expect(atEnd.chunks.isEmpty)
        if case .complete(let summary) = atEnd.last {
            #expect(summary["sentChunks"] == 0 && summary["chunks"] == 3)
        } else {
            Issue.record("expected complete, got \(String(describing: atEnd.last))")
        }
        let past = await harness.run(json: #"{"analysis": "export", "chunkSize": 2, "fromChunk": 4}"#)
        #expect(past.last == .error(code: "bad_request", message: "data.fromChunk: 4 is past the end of the stream (3 chunks)"))
        #expect(past.chunks.isEmpty)
    }

    @Test func aChangedStoreIsDetectedByTheFingerprint() async throws {
        let store = try smallStore()
        let harness = OperationHarness(handler, clock: ManualClock(), services: services(store))
        let before = StreamAnalyzer.fingerprint(store.allEntries())
        try store.upsert(MemoryEntry(id: "c", text: "Atlas ships in July.", tags: ["project"], createdAt: day(20)))
        let after = StreamAnalyzer.fingerprint(store.allEntries())
        #expect(before != after)
        let events = await harness.run(json: #"{"analysis": "export", "fromChunk": 1, "chunkSize": 2, "fingerprint": "\#(before)"}"#)
        #expect(events.chunks.isEmpty)
        #expect(
            events.last
                == .error(
                    code: "stream_changed",
                    message: "the memories changed since fingerprint \(before) (now \(after)); restart from chunk 0"))
    }

    @Test(arguments: [
        (#"{"analysis": "export", "chunkSize": 0}"#, "data.chunkSize: must be between 1 and 10000, found 0"),
        (#"{"analysis": "export", "chunkSize": 10001}"#, "data.chunkSize: must be between 1 and 10000, found 10001"),
        (#"{"analysis": "export", "fromChunk": -1}"#, "data.fromChunk: must be ≥ 0, found -1"),
        (#"{"analysis": "histogram"}"#, #"data.analysis: invalid value "histogram""#),
        (#"{"chunkSize": 5}"#, "data.analysis: missing"),
        (#"{"analysis": "export", "filter": {"tags": "food"}}"#, "data.filter.tags: expected array, found string"),
        (#"{"analysis": "export", "filter": {"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}}"#,
         "data.filter.until: must be later than data.filter.since"),
    ])
    func rejectsInvalidRequestsWithThePath(json: String, message: String) async throws {
        let events = await OperationHarness(handler, clock: ManualClock(), services: services(try smallStore())).run(json: json)
        #expect(events == [.error(code: "bad_request", message: message)])
    }

    @Test func progressIsMonotonicAndReachesOne() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 10_000, seed: 2))
        let events = await OperationHarness(handler, services: services(store), progressInterval: .zero)
            .run(json: #"{"analysis": "export", "chunkSize": 500}"#)
        #expect(events.chunks.count == 20)
        #expect(events.progressValues.count > 20)
        #expect(events.progressValues == events.progressValues.sorted())
        #expect(events.progressValues.last == 1)
        // Streamed while running: progress events interleave with the chunks, not all after them.
        let firstChunk = events.firstIndex { if case .chunk = $0 { true } else { false } }!
        let lastChunk = events.lastIndex { if case .chunk = $0 { true } else { false } }!
        #expect(events[firstChunk...lastChunk].contains { if case .progress = $0 { true } else { false } })
    }

    @Test func emitWaitsWhileTheClientIsNotWritable() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 200, seed: 4))
        let gate = Gate()
        let events = await OperationHarness(HandlerProbe(handler, gate: gate), clock: ManualClock(), services: services(store))
            .run(json: #"{"analysis": "export", "chunkSize": 1}"#) { control in
                control.setWritable(false)  // a slow client, before the handler starts
                gate.open()
                await control.waitUntilEmitIsHeld()  // the first emit waits for the client
                #expect(control.events.chunks.isEmpty, "no chunk may be sent while the client is not writable")
                #expect(control.events.count == 3)
                control.setWritable(true)
            }
        #expect(events.chunks.map(\.index) == Array(0..<200))
        #expect(events.chunks.map { $0.json["part"]?.int } == Array(0..<200))
        #expect(events.last.map { if case .complete = $0 { true } else { false } } == true)
    }

    @Test func cancellingAStalledStreamStopsTheHandler() async throws {
        let store = MemoryStore.inMemory()
        try store.upsert(SyntheticMemories.generate(count: 100, seed: 4))
        let gate = Gate()
        let probe = HandlerProbe(handler, gate: gate)
        let events = await OperationHarness(probe, clock: ManualClock(), services: services(store))
            .run(json: #"{"analysis": "export", "chunkSize": 1}"#) { control in
                control.setWritable(false)
                gate.open()
                await control.waitUntilEmitIsHeld()
                control.cancel()  // the stalled emit ends at once (no draining needed), as on a live connection
            }
        #expect(events.chunks.isEmpty)
        #expect(events.count == 4)
        #expect(events.last == .error(code: "cancelled", message: "request cancelled"))
        #expect(await probe.stopped() == .cancelled)
    }

    @Test func withoutAStoreTheRequestFailsClearly() async {
        let events = await OperationHarness(handler, clock: ManualClock()).run(json: #"{"analysis": "timeline"}"#)
        #expect(events == [.error(code: "memory_stream_error", message: "memory_stream failed: a service it needs is not available on this server")])
    }

    @Test func thePluginValidatesItsOptionsWithPaths() throws {
        #expect(streamingPlugin.name == "streaming")
        let handlers = try streamingPlugin.makeHandlers(options: ["defaultChunkSize": 7])
        #expect((handlers.first as? MemoryStreamHandler)?.options == StreamingOptions(defaultChunkSize: 7))
        #expect(throws: JSONDecodingFailure(path: "options.defaultChunkSize", reason: "must be between 1 and 50")) {
            try streamingPlugin.makeHandlers(options: ["defaultChunkSize": 100, "maxChunkSize": 50])
        }
    }
}

@Suite struct StreamAnalyzerTests {
    @Test func exportDatesMatchTheEntriesOwnJSONForm() throws {
        let entries = SyntheticMemories.generate(count: 2000, seed: 9) + [
            MemoryEntry(id: "leap", text: "x", createdAt: Date(timeIntervalSince1970: 951_782_400.999)),  // 2000-02-29
            MemoryEntry(id: "old", text: "x", createdAt: Date(timeIntervalSince1970: -86_400.5)),
        ]
        for entry in entries {
            let json = try JSONValue(parsing: JSONEncoder().encode(entry))
            #expect(StreamAnalyzer.exportItem(entry).createdAt == json["createdAt"]?.string, "\(entry.id)")
        }
    }

    @Test func fingerprintDependsOnContentAndOrder() {
        let entries = SyntheticMemories.generate(count: 3, seed: 1)
        #expect(StreamAnalyzer.fingerprint(entries) == StreamAnalyzer.fingerprint(entries))
        #expect(StreamAnalyzer.fingerprint(entries) != StreamAnalyzer.fingerprint(entries.reversed()))
        var edited = entries
        edited[1].text += "!"
        #expect(StreamAnalyzer.fingerprint(entries) != StreamAnalyzer.fingerprint(edited))
        #expect(StreamAnalyzer.fingerprint([]).count == 16)
    }
}
