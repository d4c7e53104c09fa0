import CompressionPlugin
import Foundation
import MemoryStore
import RouterCore
import StreamingPlugin
import Synchronization

/// Benchmarks of the compression and streaming plugins, run through the router's own request path
/// (``LocalOperationRunner``: decoding, deadline race, progress throttle, chunk numbering), without sockets.
///
/// - `context_compress` on a synthetic conversation of about `--tokens` estimated tokens (default 200,000):
///   synthetic memories as alternating user/assistant messages, a system prompt, `keepRecent` 4, budget 10 %.
/// - `memory_stream` `export` of `--entries` synthetic entries (default 100,000) in chunks of `--chunk-size`
///   (default 100): entries/s and MB/s of chunk JSON (the compact text each chunk's fields serialize to).
///
/// `router-bench plugins [--tokens N] [--entries N] [--chunk-size N] [--runs N]`; build with `-c release`.
enum PluginBenchmarks {
    static func run(arguments: [String]) async throws {
        let tokens = integer("--tokens", in: arguments) ?? 200_000
        let entries = integer("--entries", in: arguments) ?? 100_000
        let chunkSize = integer("--chunk-size", in: arguments) ?? 100
        let runs = max(1, integer("--runs", in: arguments) ?? 3)
        print("plugin benchmarks: context_compress ~\(tokens) tokens, memory_stream export \(entries) entries, chunk size \(chunkSize), \(runs) runs each")
        try await compression(tokens: tokens, runs: runs)
        try await streaming(entries: entries, chunkSize: chunkSize, runs: runs)
    }

    private static func integer(_ flag: String, in arguments: [String]) -> Int? {
        RouterBench.value(flag, in: arguments).flatMap { Int($0) }
    }

    // MARK: - context_compress

    static func compression(tokens: Int, runs: Int) async throws {
        var messages = [ContextMessage(role: "system", content: "You are a helpful assistant that remembers the user's preferences and projects.")]
        var estimate = 0
        var seed: UInt64 = 1
        while estimate < tokens {
            for entry in SyntheticMemories.generate(count: 1000, seed: seed) where estimate < tokens {
                messages.append(ContextMessage(role: messages.count % 2 == 1 ? "user" : "assistant", content: entry.text))
                estimate += TokenEstimator.estimate(entry.text)
            }
            seed += 1
        }
        let request = ContextCompressHandler.Request(messages: messages, budgetTokens: tokens / 10, keepRecent: 4)
        let runner = LocalOperationRunner(
            operation: AnyOperation(ContextCompressHandler()), clock: ContinuousClock(), services: ServiceRegistry(),
            logger: .disabled, progressInterval: .milliseconds(100))
        var timings: [Duration] = []
        var summary = ""
        for _ in 0..<runs {
            let target = ChunkCountingTarget()
            let clock = ContinuousClock()
            let started = clock.now
            await runner.run(
                ContextCompressHandler(), request: request, timeout: nil, requestID: "bench", target: target,
                cancel: CancelHandle())
            timings.append(started.duration(to: clock.now))
            guard case .complete(let result, _)? = target.final else {
                print("context_compress failed: \(String(describing: target.final))")
                return
            }
            let fields = result.values
            let dropped = elements(fields["dropped"])
            let duplicates = dropped.filter { item in item["reason"]?.jsonText.contains("duplicate_of") == true }.count
            summary =
                "messages \(messages.count), originalTokens \(fields["originalTokens"]?.jsonText ?? "?"), "
                + "compressedTokens \(fields["compressedTokens"]?.jsonText ?? "?") (budget \(tokens / 10)), "
                + "kept \(elements(fields["kept"]).count), "
                + "dropped \(dropped.count) (\(duplicates) duplicates), progress events \(target.progressEvents)"
        }
        print("context_compress: \(summary)")
        print("context_compress: \(format(timings)) (router path, incl. encoding the result)")

        // The algorithm alone, per stage.
        var stageStarts: [(String, ContinuousClock.Instant)] = []
        let clock = ContinuousClock()
        _ = ContextCompressor().compress(messages, budgetTokens: tokens / 10, keepRecent: 4) { stage, fraction in
            if stageStarts.last?.0 != stage.rawValue { stageStarts.append((stage.rawValue, clock.now)) }
        }
        let end = clock.now
        let stages = stageStarts.enumerated().map { index, start in
            let next = index + 1 < stageStarts.count ? stageStarts[index + 1].1 : end
            return "\(start.0) \(milliseconds(start.1.duration(to: next)))"
        }
        print("context_compress stages (one run): \(stages.joined(separator: ", "))")
    }

    // MARK: - memory_stream

    static func streaming(entries count: Int, chunkSize: Int, runs: Int) async throws {
        let store = MemoryStore.inMemory()
        let generated = SyntheticMemories.generate(count: count, seed: 42)
        for batch in stride(from: 0, to: generated.count, by: 10_000) {
            try store.upsert(Array(generated[batch..<min(generated.count, batch + 10_000)]))
        }
        var services = ServiceRegistry()
        services.register(store)
        let runner = LocalOperationRunner(
            operation: AnyOperation(MemoryStreamHandler()), clock: ContinuousClock(), services: services,
            logger: .disabled, progressInterval: .milliseconds(100))
        let request = MemoryStreamHandler.Request(analysis: .export, chunkSize: chunkSize)
        var timings: [Duration] = []
        var bytes = 0
        var chunks = 0
        for _ in 0..<runs {
            let target = ChunkCountingTarget()
            let clock = ContinuousClock()
            let started = clock.now
            await runner.run(
                MemoryStreamHandler(), request: request, timeout: nil, requestID: "bench", target: target,
                cancel: CancelHandle())
            timings.append(started.duration(to: clock.now))
            guard case .complete? = target.final else {
                print("memory_stream failed: \(String(describing: target.final))")
                return
            }
            bytes = target.chunkBytes
            chunks = target.chunks
        }
        let best = timings.min()!
        let seconds = best.inSeconds
        print("memory_stream export: \(count) entries in \(chunks) chunks, \(String(format: "%.1f", Double(bytes) / 1e6)) MB of chunk JSON")
        print("memory_stream export: \(format(timings)); best \(String(format: "%.0f", Double(count) / seconds)) entries/s, \(String(format: "%.1f", Double(bytes) / 1e6 / seconds)) MB/s")
    }

    // MARK: - Support

    private static func elements(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    private static func milliseconds(_ duration: Duration) -> String {
        String(format: "%.1f ms", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
    }

    private static func format(_ timings: [Duration]) -> String {
        let sorted = timings.sorted()
        return "best \(milliseconds(sorted.first!)), median \(milliseconds(sorted[sorted.count / 2])), runs \(timings.map(milliseconds).joined(separator: " / "))"
    }
}

/// Counts what one request produced; serializes each chunk's fields to JSON text, as a session would.
private final class ChunkCountingTarget: OperationEventTarget {
    private struct State {
        var chunks = 0
        var chunkBytes = 0
        var progressEvents = 0
        var final: OperationEvent?
    }

    private let state = Mutex(State())

    var chunks: Int { state.withLock { $0.chunks } }
    var chunkBytes: Int { state.withLock { $0.chunkBytes } }
    var progressEvents: Int { state.withLock { $0.progressEvents } }
    var final: OperationEvent? { state.withLock { $0.final } }

    func deliver(_ event: OperationEvent) -> Bool {
        let size: Int
        if case .chunk(_, let fields) = event { size = JSONValue.object(fields.values).jsonText.utf8.count } else { size = 0 }
        return state.withLock { state in
            guard state.final == nil else { return false }
            switch event {
            case .chunk:
                state.chunks += 1
                state.chunkBytes += size
            case .progress: state.progressEvents += 1
            case .complete, .failure: state.final = event
            }
            return true
        }
    }

    func waitUntilWritable() async -> Bool { state.withLock { $0.final == nil } }
}
