import CompressionPlugin
import Foundation
import Synchronization
import MemoryStore
import RouterCore
import RouterTesting
import Testing

@Suite struct ContextCompressHandlerTests {
    let handler = ContextCompressHandler()

    private func json(_ value: some Encodable) throws -> JSONValue {
        try JSONValue(parsing: JSONEncoder().encode(value))
    }

    @Test func declaresItsWireContract() {
        #expect(ContextCompressHandler.messageType == "context_compress")
        #expect(ContextCompressHandler.eventPrefix == "compression")
        #expect(ContextCompressHandler.timeout == .seconds(120))
        #expect(ContextCompressHandler.stages.map(\.name) == ["splitting", "deduplicating", "scoring", "selecting"])
    }

    @Test func producesTheExactEventSequence() async throws {
        let events = await OperationHarness(handler, clock: ManualClock()).run(json: Trip.json)
        let expected = ContextCompressor().compress(Trip.messages, budgetTokens: 50, keepRecent: 1)
        // Weights 1, 3, 3, 1 of 8; on a clock that does not move only stage changes and reaching 1 pass.
        #expect(
            events == [
                .progress("splitting", 0, 0), .progress("deduplicating", 1, 0.125), .progress("scoring", 2, 0.5),
                .progress("selecting", 3, 0.875), .progress("selecting", 3, 1), .complete(try json(expected)),
            ])
    }

    @Test func progressIsMonotonicAndReachesOneOnALargeInput() async {
        let messages = SyntheticMemories.generate(count: 3000, seed: 3).enumerated().map { index, entry in
            ContextMessage(role: index % 2 == 0 ? "user" : "assistant", content: entry.text)
        }
        let request = ContextCompressHandler.Request(messages: messages, budgetTokens: 2000, keepRecent: 4)
        // Every report passes (interval 0), so the full sequence is visible.
        let events = await OperationHarness(handler, clock: ContinuousClock(), progressInterval: .zero).run(request)
        let progress = events.compactMap { event -> Double? in
            if case .progress(_, _, let value, _) = event { return value }
            return nil
        }
        #expect(progress.count > 20)
        #expect(progress == progress.sorted())
        #expect(progress.last == 1)
        guard case .complete(let result) = events.last else {
            Issue.record("expected complete, got \(String(describing: events.last))")
            return
        }
        #expect(result["compressedTokens"].flatMap { if case .number(let n) = $0 { n } else { nil } }.map { $0 <= 2000 } == true)
    }

    @Test func isDeterministicThroughTheRouter() async {
        let harness = OperationHarness(handler, clock: ManualClock())
        let first = await harness.run(json: Trip.json)
        let second = await harness.run(json: Trip.json)
        #expect(first == second)
        #expect(first.last?.isFinal == true)
    }

    @Test(arguments: [
        (#"{"budgetTokens": 10}"#, "data: expected exactly one of messages or memoryIds"),
        (#"{"messages": [{"role":"user","content":"x"}], "memoryIds": ["a"], "budgetTokens": 10}"#,
         "data: expected exactly one of messages or memoryIds"),
        (#"{"messages": [], "budgetTokens": 10}"#, "data.messages: must not be empty"),
        (#"{"messages": [{"role":"user","content":"x"}], "budgetTokens": 0}"#, "data.budgetTokens: must be > 0, found 0"),
        (#"{"messages": [{"role":"user","content":"x"}], "budgetTokens": 5, "keepRecent": -1}"#,
         "data.keepRecent: must be ≥ 0, found -1"),
        (#"{"messages": [{"role":"user","content":"x"}, {"role":"user"}], "budgetTokens": 5}"#,
         "data.messages[1].content: missing"),
        (#"{"messages": [{"role":"user","content":"x"}], "budgetTokens": "many"}"#,
         "data.budgetTokens: expected integer, found string"),
        (#"{"messages": [{"role":"user","content":"x"}]}"#, "data.budgetTokens: missing"),
    ])
    func rejectsInvalidRequestsWithThePath(json: String, message: String) async {
        let events = await OperationHarness(handler, clock: ManualClock()).run(json: json)
        #expect(events == [.error(code: "bad_request", message: message)])
    }

    @Test func compressesMemoriesByIdAndNamesUnknownIds() async throws {
        let store = MemoryStore.inMemory()
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        try store.upsert([
            MemoryEntry(id: "m1", text: "The user prefers green tea. The user lives in Lyon.", createdAt: date),
            MemoryEntry(id: "m2", text: "The user prefers green tea! Project Atlas ships in June.", createdAt: date),
        ])
        var services = ServiceRegistry()
        services.register(store)
        let harness = OperationHarness(handler, clock: ManualClock(), services: services)
        let events = await harness.run(json: #"{"memoryIds": ["m1", "m2"], "budgetTokens": 100}"#)
        let expected = ContextCompressor().compress(
            [
                ContextMessage(role: "memory", content: "The user prefers green tea. The user lives in Lyon.", label: "m1"),
                ContextMessage(role: "memory", content: "The user prefers green tea! Project Atlas ships in June.", label: "m2"),
            ], budgetTokens: 100)
        #expect(events.last == .complete(try json(expected)))
        #expect(expected.compressed == "m1: The user prefers green tea. The user lives in Lyon.\nm2: Project Atlas ships in June.")
        #expect(expected.droppedReasons == ["1:0": "duplicate_of 0:0"])

        let unknown = await harness.run(json: #"{"memoryIds": ["m1", "nope", "gone", "nope"], "budgetTokens": 100}"#)
        #expect(unknown == [.error(code: "bad_request", message: #"data.memoryIds: unknown ids "nope", "gone""#)])

        let noStore = await OperationHarness(handler, clock: ManualClock()).run(json: #"{"memoryIds": ["m1"], "budgetTokens": 1}"#)
        #expect(noStore == [.error(code: "context_compress_error", message: "context_compress failed: a service it needs is not available on this server")])
    }

    @Test func rejectsInputOverTheConfiguredLimit() async {
        let small = ContextCompressHandler(options: CompressionOptions(maxInputTokens: 5))
        let events = await OperationHarness(small, clock: ManualClock())
            .run(json: #"{"messages": [{"role":"user","content":"This sentence is longer than twenty bytes."}], "budgetTokens": 5}"#)
        #expect(
            events == [
                .error(
                    code: "payload_too_large",
                    message: "context_compress accepts at most 5 estimated tokens; this context has about 11")
            ])
    }

    @Test func cancellationEndsTheRequestAndStopsTheHandler() async {
        let messages = SyntheticMemories.generate(count: 20_000, seed: 5).map { ContextMessage(role: "user", content: $0.text) }
        let request = ContextCompressHandler.Request(messages: messages, budgetTokens: 1000)
        let probe = HandlerProbe(handler)
        let events = await OperationHarness(probe, clock: ManualClock()).run(request, cancellingAfterEvents: 1)
        #expect(events.first == .progress("splitting", 0, 0))
        #expect(events.last == .error(code: "cancelled", message: "request cancelled"))
        #expect(events.dropLast().allSatisfy { if case .progress = $0 { true } else { false } })
        // The harness returns only after the handler's task ended: it must have stopped by throwing, not finished.
        #expect(probe.outcome == .cancelled)
    }

    @Test func thePluginValidatesItsOptionsWithPaths() throws {
        #expect(try compressionPlugin.makeHandlers().count == 1)
        #expect(compressionPlugin.name == "compression")
        #expect(throws: JSONDecodingFailure(path: "options.duplicateThreshold", reason: "must be > 0 and ≤ 1")) {
            try compressionPlugin.makeHandlers(options: ["duplicateThreshold": 1.5])
        }
        #expect(throws: JSONDecodingFailure(path: "options.maxInputTokens", reason: "expected integer, found string")) {
            try compressionPlugin.makeHandlers(options: ["maxInputTokens": "lots"])
        }
        let handlers = try compressionPlugin.makeHandlers(options: ["duplicateThreshold": 0.9])
        #expect((handlers.first as? ContextCompressHandler)?.options.duplicateThreshold == 0.9)
    }
}

@Suite struct ContextCompressAbuseTests {
    /// Finding 2: 300 000 unknown memory ids (a few MB of JSON) are refused by the declared input limit
    /// before the handler runs, so the handler's quadratic unknown-id scan (minutes) can never run into the
    /// 1 s timeout. The run has that 1 s timeout: had the request reached the scan, it would end `timeout`.
    @Test func threeHundredThousandUnknownIdsAreRefusedByTheInputLimitNotTheTimeout() async throws {
        let store = MemoryStore.inMemory()
        var services = ServiceRegistry()
        services.register(store)
        let ids = (0..<300_000).map { "\"missing-\($0)\"" }.joined(separator: ",")
        let harness = OperationHarness(ContextCompressHandler(), services: services)
        let events = await harness.run(json: #"{"memoryIds": [\#(ids)], "budgetTokens": 100}"#, timeout: .seconds(1))
        // One event: the refusal, with no progress before it (the handler never started).
        guard events.count == 1, case .error(let code, let message)? = events.first else {
            Issue.record("expected exactly one error, got \(events.count) events ending \(String(describing: events.last))")
            return
        }
        #expect(code != "timeout", "refused by the timeout: \(message)")
        #expect(code == "payload_too_large", "\(code): \(message)")
        #expect(message == "data.memoryIds: 300000 items, over the limit of 10000 (maxMemoryIds)")
    }

    /// The unknown-id check is linear: ids within the limit, all unknown, are named quickly.
    @Test func manyUnknownIdsWithinTheLimitAreNamedQuickly() async throws {
        let store = MemoryStore.inMemory()
        var services = ServiceRegistry()
        services.register(store)
        let ids = (0..<10_000).map { "\"missing-\($0)\"" }.joined(separator: ",")
        let events = await OperationHarness(ContextCompressHandler(), services: services)
            .run(json: #"{"memoryIds": [\#(ids)], "budgetTokens": 100}"#, timeout: .seconds(1))
        guard case .error(let code, let message)? = events.last else {
            Issue.record("expected an error, got \(String(describing: events.last))")
            return
        }
        #expect(code == "bad_request")
        #expect(message.hasPrefix(#"data.memoryIds: unknown ids "missing-0", "missing-1""#))
        #expect(message.hasSuffix("and 9990 more"))
    }
}
