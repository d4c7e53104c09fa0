import Dispatch
import Foundation
import MemoryStore
import Synchronization

/// `router-bench compaction [--entries 1000000] [--dimension 0] [--writers 1]`: a store of N entries, each
/// rewritten once (half the log dead), compacted while writers (fsync `always`, batches of 10) and a searcher
/// run: compaction time, the writers' pause, the slowest write and search during it, log size before/after,
/// and the time to reopen before and after.
enum CompactionBenchmark {
    static func run(arguments: [String]) throws {
        let count = RouterBench.option("--entries", in: arguments, default: 1_000_000)
        let dimension = RouterBench.option("--dimension", in: arguments, default: 0)
        let writers = RouterBench.option("--writers", in: arguments, default: 1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("compaction-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ContinuousClock()

        print("generating \(count) entries (dimension \(dimension == 0 ? "none" : String(dimension)))…")
        let entries = SyntheticMemories.generate(count: count, seed: 42, dimension: dimension == 0 ? nil : dimension)
        do {
            let (store, _) = try MemoryStore.open(directory: directory, fsync: .never, compaction: .disabled)
            let started = clock.now
            for start in stride(from: 0, to: count, by: 10_000) {
                try store.upsert(Array(entries[start..<min(count, start + 10_000)]))
            }
            for start in stride(from: 0, to: count, by: 10_000) {
                try store.upsert(entries[start..<min(count, start + 10_000)].map { item in
                    var copy = item
                    copy.text += " (revised)"
                    return copy
                })
            }
            try store.close()
            print("wrote \(2 * count) records in \(format(started.duration(to: clock.now)))")
        }

        var opened = clock.now
        let (store, report) = try MemoryStore.open(directory: directory, fsync: .always, compaction: .disabled)
        print("reopen before compaction: \(format(opened.duration(to: clock.now))) (\(report.recordsLoaded) records, \(report.entriesLoaded) entries)")
        let statistics = store.compactionStatistics
        print("log before: \(megabytes(statistics.logBytes)), dead \(megabytes(statistics.deadBytes)) (\(percent(statistics.deadBytes, of: statistics.logBytes)))")

        let stop = Mutex(false)
        let writeLatencies = Mutex<[Duration]>([])
        let slowestSearch = Mutex(Duration.zero)
        let writes = Mutex(0)
        let searches = Mutex(0)
        let group = DispatchGroup()
        for writer in 0..<writers {
            DispatchQueue.global().async(group: group) {
                var n = 0
                while !stop.withLock({ $0 }) {
                    let batch = (0..<10).map { index in
                        MemoryEntry(id: "live-\(writer)-\(n)-\(index)", text: "written during compaction \(n)", createdAt: Date())
                    }
                    let started = clock.now
                    do { try store.upsert(batch) } catch { return }
                    let took = started.duration(to: clock.now)
                    writeLatencies.withLock { $0.append(took) }
                    writes.withLock { $0 += 10 }
                    n += 1
                }
            }
        }
        DispatchQueue.global().async(group: group) {
            while !stop.withLock({ $0 }) {
                let started = clock.now
                _ = try? store.search(query: "coffee project", limit: 10)
                let took = started.duration(to: clock.now)
                slowestSearch.withLock { $0 = max($0, took) }
                searches.withLock { $0 += 1 }
            }
        }
        let compaction = try store.compact()
        stop.withLock { $0 = true }
        group.wait()
        print("compaction: \(format(compaction.duration)), writers paused \(format(compaction.pause)) (waiting for the writer lock, the last \(compaction.bytesCopiedDuringPause) bytes copied, fsync, rename, directory fsync); \(compaction.bytesCopiedFromTail) bytes appended meanwhile were copied in all")
        print("log: \(megabytes(compaction.bytesBefore)) → \(megabytes(compaction.bytesAfter)), \(compaction.entries) entries")
        let latencies = writeLatencies.withLock { $0 }.sorted()
        let p50 = latencies.isEmpty ? .zero : latencies[latencies.count / 2]
        let p99 = latencies.isEmpty ? .zero : latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        print("during it: \(writes.withLock { $0 }) entries written (fsync always, batches of 10): write p50 \(format(p50)), p99 \(format(p99)), slowest \(format(latencies.last ?? .zero)); \(searches.withLock { $0 }) searches, slowest \(format(slowestSearch.withLock { $0 }))")
        try store.close()
        opened = clock.now
        let (_, after) = try MemoryStore.open(directory: directory, fsync: .always, compaction: .disabled)
        print("reopen after compaction: \(format(opened.duration(to: clock.now))) (\(after.recordsLoaded) records, \(after.entriesLoaded) entries)")
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.inSeconds
        return seconds >= 1 ? String(format: "%.2f s", seconds) : String(format: "%.1f ms", seconds * 1000)
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

    static func percent(_ part: Int, of whole: Int) -> String {
        String(format: "%.0f %%", whole == 0 ? 0 : 100 * Double(part) / Double(whole))
    }
}
