import Foundation
import MemoryStore
import RedisClient
import RedisMemory

/// `router-bench redis --url redis://127.0.0.1:6379/0 [--sizes 100000,1000000] [--batches 2000] [--batch-size 10]
/// [--writers 1]`: figures for the Redis memory backend (DEPLOY.md):
/// - index throughput through Redis (`XADD` acknowledged, applied locally) against the local log (fsync `always`),
///   same batches, `--writers` concurrent writers;
/// - start-up time of a host from a snapshot of each size (snapshot written by `RedisSnapshots`, then a fresh
///   backend loads it and reads the stream after it).
/// Uses streams named `bench-*` in the given database and deletes them afterwards. Start Redis with the
/// persistence you want to measure (`--appendonly yes --appendfsync always` to compare with fsync `always`).
enum RedisBenchmark {
    static func run(arguments: [String]) async throws {
        guard let url = RouterBench.value("--url", in: arguments) else {
            throw BenchmarkError(description: "redis: --url redis://host:port/db is required")
        }
        let sizes = (RouterBench.value("--sizes", in: arguments) ?? "100000,1000000").split(separator: ",").compactMap { Int($0) }
        let batches = RouterBench.option("--batches", in: arguments, default: 2000)
        let batchSize = RouterBench.option("--batch-size", in: arguments, default: 10)
        let writers = RouterBench.option("--writers", in: arguments, default: 1)
        let connection = RedisConfiguration(endpoint: try RedisEndpoint(url: url), commandTimeout: .seconds(30))
        let admin = RedisClient(connection)
        defer { admin.close() }
        let persistence = try await admin.pipeline([RedisCommand("CONFIG", "GET", "appendonly"), RedisCommand("CONFIG", "GET", "appendfsync")])
        print("redis \(connection.endpoint.address): appendonly \(persistence[0].array?.last?.string ?? "?"), appendfsync \(persistence[1].array?.last?.string ?? "?")")
        print("load average at start: \(loadAverage())")

        // 1. Index throughput.
        let entries = SyntheticMemories.generate(count: batches * batchSize, seed: 7)
        let batchList = stride(from: 0, to: entries.count, by: batchSize).map { Array(entries[$0..<min(entries.count, $0 + batchSize)]) }
        let stream = "bench-index-\(UInt32.random(in: 0...UInt32.max))"
        let backend = RedisMemoryBackend(settings: RedisMemorySettings(connection: connection, stream: stream, snapshotInterval: .seconds(3600)))
        guard await backend.start(initialSyncTimeout: .seconds(10)) else {
            throw BenchmarkError(description: "redis: not synchronized: \(backend.degradedReason ?? "?")")
        }
        let clock = ContinuousClock()
        var started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: batchList.count, by: writers) { _ = try await backend.write(batchList[index]) }
                }
            }
            try await group.waitForAll()
        }
        let redisElapsed = started.duration(to: clock.now)
        await backend.stop()
        _ = try await admin.send(RedisCommand("DEL", stream))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (local, _) = try MemoryStore.open(directory: directory, fsync: .always, compaction: .disabled)
        started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: batchList.count, by: writers) {
                        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                            DispatchQueue.global().async {
                                continuation.resume(with: Result { try local.upsert(batchList[index]) })
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let localElapsed = started.duration(to: clock.now)
        try local.close()
        func rate(_ elapsed: Duration) -> String {
            let seconds = RedisMemoryBackend.seconds(elapsed)
            return String(format: "%.0f batches/s, %.0f entries/s (%.2f ms per batch)", Double(batchList.count) / seconds,
                Double(entries.count) / seconds, seconds * 1000 / Double(batchList.count))
        }
        print("index \(batchList.count) batches × \(batchSize) entries, \(writers) writer(s):")
        print("  through Redis:           \(rate(redisElapsed))")
        print("  local log, fsync always: \(rate(localElapsed))")

        // 2. Start-up from a snapshot.
        for size in sizes {
            let stream = "bench-startup-\(size)-\(UInt32.random(in: 0...UInt32.max))"
            let settings = RedisMemorySettings(connection: connection, stream: stream, snapshotInterval: .seconds(3600), snapshotLockTTL: .seconds(600))
            let corpus = SyntheticMemories.generate(count: size, seed: 11)
            let link = ReconnectingConnection(connection)
            // A stream entry for the snapshot to stand behind, and 100 batches after it to replay.
            let first = try link.send(RedisCommand("XADD", arguments: [.text(stream), "*", "b", .binary(ReplicatedBatch.encode([]))])).string!
            var written = clock.now
            guard try RedisSnapshots.lock(token: "bench", settings: settings, link: link),
                let (manifest, _) = try RedisSnapshots.write(corpus, lastID: StreamID(first)!, token: "bench", settings: settings, link: link)
            else { throw BenchmarkError(description: "redis: could not write the snapshot") }
            RedisSnapshots.unlock(token: "bench", settings: settings, link: link)
            let writeTime = written.duration(to: clock.now)
            for batch in 0..<100 {
                let records = (0..<10).map { LogRecord.upsert(MemoryEntry(id: "tail-\(batch)-\($0)", text: "written after the snapshot \(batch)", createdAt: Date())) }
                _ = try link.send(RedisCommand("XADD", arguments: [.text(stream), "*", "b", .binary(ReplicatedBatch.encode(records))]))
            }
            let memory = try link.send(RedisCommand("MEMORY", "USAGE", settings.chunkKey(generation: manifest.generation, index: 0))).integer ?? 0
            written = clock.now
            let host = RedisMemoryBackend(settings: settings)
            let rssBefore = residentMegabytes()
            let synced = await host.start(initialSyncTimeout: .seconds(600))
            let startup = written.duration(to: clock.now)
            print("  resident memory: \(rssBefore) MB before loading, \(residentMegabytes()) MB after (includes the generated corpus)")
            print(
                "start-up from a snapshot of \(size) entries (\(manifest.chunks) chunks of ~\(memory / 1024) KiB) + 100 stream batches: "
                    + "\(format(startup)) (synchronized: \(synced), \(host.store.count) entries); snapshot written in \(format(writeTime))")
            await host.stop()
            // The same corpus indexed in process, without Redis: how much of the start-up is the index build.
            let buildStarted = clock.now
            try MemoryStore.inMemory().replaceAll(with: corpus)
            print("  building the index alone (no Redis): \(format(buildStarted.duration(to: clock.now))); load average \(loadAverage())")
            let keys = [stream, settings.metaKey] + (0..<manifest.chunks).map { settings.chunkKey(generation: manifest.generation, index: $0) }
            _ = try link.send(RedisCommand("DEL", arguments: keys.map { .text($0) }))
        }
        print("load average at end: \(loadAverage())")
    }

    /// VmRSS of this process in MB.
    static func residentMegabytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func format(_ duration: Duration) -> String { String(format: "%.3f s", RedisMemoryBackend.seconds(duration)) }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
}
