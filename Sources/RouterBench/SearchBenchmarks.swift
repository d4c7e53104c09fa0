import Foundation
import MemoryStore
import RouterCore
import SearchPlugin
import Synchronization

/// `memory_search` latency and `memory_index` throughput, run through the router's own request runner
/// (request decoding, deadline race, progress coalescing at the router's 100 ms default, result encoding) —
/// the path a live request takes minus the socket.
///
/// ```
/// router-bench search [--sizes 100000,1000000] [--iterations 100] [--dimension 384]
///                     [--index-batches 50] [--index-batch-size 100] [--directory DIR]
///                     [--modes bm25,cosine,hybrid] [--store-modes bm25,cosine] [--queries 64]
///                     [--no-cancel] [--no-index]
/// ```
///
/// For each size: a synthetic store (``SyntheticMemories``, seed 42, embeddings of `dimension`) held in
/// memory; `memory_search` p50/p99 with BM25 only (2–3 terms drawn from the corpus's own memories, limit 10)
/// and hybrid (the same text plus a stored memory's embedding with noise, limit 10); the latency of a cancel
/// that arrives mid-scoring (skipped with `--no-cancel`, or when `--modes` has no `hybrid`). `--modes` picks
/// the timed cases (default `bm25,hybrid`; `cosine` sends the embedding with an empty query); `--store-modes` also times
/// the same queries as direct `SearchSnapshot.search` calls, without the request path. Then `memory_index` throughput: batches of `index-batch-size` entries with
/// embeddings into a store on disk with fsync `always` (skipped with `--no-index`).
///
/// The queries are ``SearchQueries``: `router-bench export` writes the same corpus and queries for other engines.
enum SearchBenchmarks {
    struct Settings {
        var sizes = [100_000, 1_000_000]
        var iterations = 100
        var dimension = 384
        var indexBatches = 50
        var indexBatchSize = 100
        var directory = FileManager.default.temporaryDirectory.path
        var modes: [SearchMode] = [.bm25, .hybrid]
        /// Modes also timed as a direct `SearchSnapshot.search` call (``storeSearch``); none by default.
        var storeModes: [SearchMode] = []
        var queries = 64
        var cancel = true
        var index = true
    }

    /// What a timed `memory_search` sends: the query text, its embedding, or both.
    enum SearchMode: String, CaseIterable {
        case bm25, cosine, hybrid

        var title: String {
            switch self {
            case .bm25: "BM25 only"
            case .cosine: "cosine only"
            case .hybrid: "hybrid (BM25 + cosine, RRF)"
            }
        }
    }

    static func run(arguments: [String]) async throws {
        let settings = try parse(arguments)
        print("memory_search / memory_index benchmarks")
        print("  \(ProcessInfo.processInfo.activeProcessorCount) cores, dimension \(settings.dimension), \(settings.iterations) iterations per case")
        for size in settings.sizes {
            try await searchCase(size: size, settings: settings)
        }
        if settings.index { try await indexCase(settings: settings) }
    }

    // MARK: - Search

    static func searchCase(size: Int, settings: Settings) async throws {
        var started = ContinuousClock.now
        let entries = SyntheticMemories.generate(count: size, seed: 42, dimension: settings.dimension)
        let generated = ContinuousClock.now - started
        started = ContinuousClock.now
        let store = MemoryStore.inMemory(dimension: settings.dimension)
        for start in stride(from: 0, to: size, by: 50_000) {
            try store.upsert(Array(entries[start..<min(start + 50_000, size)]))
        }
        let built = ContinuousClock.now - started
        print("\n\(size) entries: generated in \(format(generated)), indexed in memory in \(format(built))")

        var services = ServiceRegistry()
        services.register(store)
        let runner = LocalOperationRunner(
            operation: AnyOperation(MemorySearchHandler()), clock: ContinuousClock(), services: services,
            logger: .disabled, progressInterval: .milliseconds(100), progressQuietPeriod: .milliseconds(100))

        let queries = SearchQueries.generate(
            entries: entries, count: settings.queries, tokenizer: store.searchSnapshot())

        var hybridMedian = Duration.zero
        for mode in settings.storeModes {
            try storeSearch(mode: mode, size: size, snapshot: store.searchSnapshot(), queries: queries, settings: settings)
        }
        for mode in settings.modes {
            var latencies: [Duration] = []
            var progressEvents = 0
            var totals = 0
            for iteration in -3..<settings.iterations {
                let query = queries[(iteration + 3) % queries.count]
                var data: [String: JSONValue] = ["query": .string(mode == .cosine ? "" : query.text), "limit": 10]
                if mode != .bm25 { data["embedding"] = .array(query.embedding.map { .number(Double($0)) }) }
                let target = CountingTarget()
                let begin = ContinuousClock.now
                await runner.run(
                    data: .object(data), timeout: nil, requestID: "bench", target: target, cancel: CancelHandle())
                let elapsed = ContinuousClock.now - begin
                guard case .complete(let result, _)? = target.final else {
                    throw BenchmarkFailure("memory_search did not complete: \(String(describing: target.final))")
                }
                guard iteration >= 0 else { continue }  // warm-up
                latencies.append(elapsed)
                progressEvents += target.progressCount
                if case .number(let total)? = result.values["total"] { totals += Int(total) }
            }
            if mode == .hybrid { hybridMedian = latencies.sorted()[latencies.count / 2] }
            report(
                "memory_search \(mode.title), \(size) entries",
                latencies,
                extra: "progress events/request \(String(format: "%.1f", Double(progressEvents) / Double(latencies.count))), "
                    + "mean matches \(totals / max(1, latencies.count))")
        }

        guard settings.cancel, hybridMedian > .zero else {
            _ = store
            return
        }
        // Cancel latency: a client cancel at a point spread over the hybrid search's median duration; measured
        // from the cancel to the runner's return, i.e. until the handler task has actually stopped.
        let delays = (0..<20).map { hybridMedian * ((Double($0) + 0.5) / 20) }
        var cancelLatencies: [Duration] = []
        var finishedFirst = 0
        for (index, delay) in delays.enumerated() {
            let query = queries[index % queries.count]
            let data: JSONValue = [
                "query": .string(query.text), "limit": 10, "embedding": .array(query.embedding.map { .number(Double($0)) }),
            ]
            let cancel = CancelHandle()
            let target = CountingTarget()
            let cancelledAt = InstantBox()
            let returned = await withTaskGroup(of: ContinuousClock.Instant?.self) { group in
                group.addTask {
                    await runner.run(data: data, timeout: nil, requestID: "bench", target: target, cancel: cancel)
                    return .now
                }
                group.addTask {
                    try? await Task.sleep(for: delay)
                    cancelledAt.set(.now)
                    cancel.cancel()
                    return nil
                }
                var returned: ContinuousClock.Instant?
                for await instant in group where instant != nil { returned = instant }
                return returned
            }
            guard case .failure(ErrorCode.cancelled, _, _)? = target.final, let returned,
                let cancelled = cancelledAt.value
            else {
                finishedFirst += 1
                continue
            }
            cancelLatencies.append(returned - cancelled)
        }
        report(
            "cancel at 5–95 % of the hybrid median → handler returned, \(size) entries", cancelLatencies,
            extra: finishedFirst > 0 ? "\(finishedFirst) of \(delays.count) searches finished before their cancel" : nil)
        _ = store  // keep alive until here
    }

    /// `SearchSnapshot.search` called directly, on the calling thread: scoring, filtering and the top-k cut
    /// only (no request decoding, task hops, highlights or result encoding), the part comparable to a bare
    /// engine call such as tantivy's `searcher.search`.
    static func storeSearch(
        mode: SearchMode, size: Int, snapshot: SearchSnapshot, queries: [(text: String, embedding: [Float])],
        settings: Settings
    ) throws {
        var latencies: [Duration] = []
        var hits = 0
        for iteration in -3..<settings.iterations {
            let query = queries[(iteration + 3) % queries.count]
            let begin = ContinuousClock.now
            let results = try snapshot.search(
                query: mode == .cosine ? "" : query.text, limit: 10, embedding: mode == .bm25 ? nil : query.embedding)
            let elapsed = ContinuousClock.now - begin
            guard iteration >= 0 else { continue }
            latencies.append(elapsed)
            hits += results.count
        }
        report(
            "store search \(mode.title), \(size) entries", latencies,
            extra: "mean hits \(hits / max(1, latencies.count))")
    }

    // MARK: - Index

    static func indexCase(settings: Settings) async throws {
        let directory = settings.directory + "/router-bench-index-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, _) = try MemoryStore.open(directory: directory, dimension: settings.dimension, fsync: .always)
        var services = ServiceRegistry()
        services.register(store)
        let runner = LocalOperationRunner(
            operation: AnyOperation(MemoryIndexHandler()), clock: ContinuousClock(), services: services,
            logger: .disabled, progressInterval: .milliseconds(100))
        let total = settings.indexBatches * settings.indexBatchSize
        let entries = SyntheticMemories.generate(count: total, seed: 99, dimension: settings.dimension)
        let batches: [JSONValue] = stride(from: 0, to: total, by: settings.indexBatchSize).map { start in
            .object([
                "entries": .array(
                    entries[start..<start + settings.indexBatchSize].map { entry in
                        .object([
                            "id": .string(entry.id), "text": .string(entry.text),
                            "tags": .array(entry.tags.map { .string($0) }),
                            "createdAt": .string(entry.createdAt.formatted(.iso8601)),
                            "embedding": .array((entry.embedding ?? []).map { .number(Double($0)) }),
                        ])
                    })
            ])
        }
        var latencies: [Duration] = []
        let started = ContinuousClock.now
        for batch in batches {
            let target = CountingTarget()
            let begin = ContinuousClock.now
            await runner.run(data: batch, timeout: nil, requestID: "bench", target: target, cancel: CancelHandle())
            latencies.append(ContinuousClock.now - begin)
            guard case .complete? = target.final else {
                throw BenchmarkFailure("memory_index did not complete: \(String(describing: target.final))")
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.inSeconds
        print("\nmemory_index, fsync always, \(settings.indexBatches) batches of \(settings.indexBatchSize) entries (dimension \(settings.dimension)), store in \(settings.directory)")
        report("memory_index batch latency", latencies, extra: nil)
        print(String(format: "  throughput: %.0f entries/s (%d entries in %.2f s), log %d bytes", Double(total) / seconds, total, seconds, store.logSize ?? 0))
        try store.close()
    }

    // MARK: - Helpers

    static func report(_ title: String, _ samples: [Duration], extra: String?) {
        guard !samples.isEmpty else {
            print("  \(title): no samples")
            return
        }
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Duration {
            sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        let mean = sorted.reduce(Duration.zero, +) / sorted.count
        print(
            "  \(title): p50 \(format(percentile(0.5))), p99 \(format(percentile(0.99))), mean \(format(mean)), "
                + "min \(format(sorted[0])), max \(format(sorted[sorted.count - 1])) (n=\(sorted.count))"
                + (extra.map { "; \($0)" } ?? ""))
    }

    static func format(_ duration: Duration) -> String {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        // Microseconds below 10 ms: a BM25 search at 100 k entries takes some 30 µs, which two decimals of a
        // millisecond would round to 0.03 or 0.04.
        if ms >= 1000 { return String(format: "%.2f s", ms / 1000) }
        return String(format: ms < 10 ? "%.3f ms" : "%.2f ms", ms)
    }

    static func parse(_ arguments: [String]) throws -> Settings {
        var settings = Settings()
        var remaining = arguments[...]
        func int(_ name: String) throws -> Int {
            guard let text = remaining.popFirst(), let value = Int(text), value > 0 else {
                throw BenchmarkFailure("\(name) expects a positive integer")
            }
            return value
        }
        while let argument = remaining.popFirst() {
            switch argument {
            case "--sizes":
                guard let text = remaining.popFirst() else { throw BenchmarkFailure("--sizes expects a list") }
                settings.sizes = try text.split(separator: ",").map { part in
                    guard let size = Int(part.replacingOccurrences(of: "_", with: "")), size > 0 else {
                        throw BenchmarkFailure("--sizes: invalid size \(part)")
                    }
                    return size
                }
            case "--iterations": settings.iterations = try int(argument)
            case "--dimension": settings.dimension = try int(argument)
            case "--index-batches": settings.indexBatches = try int(argument)
            case "--index-batch-size": settings.indexBatchSize = try int(argument)
            case "--queries": settings.queries = try int(argument)
            case "--modes", "--store-modes":
                guard let text = remaining.popFirst() else { throw BenchmarkFailure("\(argument) expects a list") }
                let modes = try text.split(separator: ",").map { part in
                    guard let mode = SearchMode(rawValue: String(part)) else {
                        throw BenchmarkFailure("\(argument): unknown mode \(part) (bm25, cosine, hybrid)")
                    }
                    return mode
                }
                if argument == "--modes" { settings.modes = modes } else { settings.storeModes = modes }
            case "--no-cancel": settings.cancel = false
            case "--no-index": settings.index = false
            case "--directory":
                guard let path = remaining.popFirst() else { throw BenchmarkFailure("--directory expects a path") }
                settings.directory = path
            default: throw BenchmarkFailure("unknown argument \(argument)")
            }
        }
        return settings
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// SplitMix64, for reproducible query choice.
struct BenchRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Counts progress events and keeps the final one; refuses everything after it, as a session does.
final class CountingTarget: OperationEventTarget {
    private struct State {
        var progressCount = 0
        var final: OperationEvent?
    }

    private let state = Mutex(State())

    var progressCount: Int { state.withLock { $0.progressCount } }
    var final: OperationEvent? { state.withLock { $0.final } }

    func deliver(_ event: OperationEvent) -> Bool {
        state.withLock { state in
            guard state.final == nil else { return false }
            switch event {
            case .progress: state.progressCount += 1
            case .complete, .failure: state.final = event
            case .chunk: break
            }
            return true
        }
    }

    func waitUntilWritable() async -> Bool { true }
}

/// An instant set by one task and read by another.
final class InstantBox: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    func set(_ value: ContinuousClock.Instant) { instant.withLock { $0 = value } }
    var value: ContinuousClock.Instant? { instant.withLock { $0 } }
}
