import Dispatch
import Foundation
import Synchronization
import Testing

@testable import MemoryStore

/// Counts acknowledged writes; a waiter can block until N more arrived (a signal, not a sleep).
final class AcknowledgementCounter: @unchecked Sendable {
    private let condition = NSCondition()
    private var count = 0

    func increment() {
        condition.lock()
        count += 1
        condition.broadcast()
        condition.unlock()
    }

    var value: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    /// Waits until the count reached `target` (false after 30 s: the writers stalled).
    func wait(until target: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(30)
        while count < target { if !condition.wait(until: deadline) { return false } }
        return true
    }
}

/// Serialized: the crash cases block their thread (the compaction waits for the writer threads), and only
/// one should hold a cooperative thread at a time on a 2-core machine.
@Suite("Compaction", .serialized)
struct CompactionTests {
    struct Crash: Sendable, CustomTestStringConvertible {
        var step: CompactionStep
        var powerCut: Bool
        var testDescription: String { "\(powerCut ? "power cut" : "kill") at \(step.rawValue)" }
    }

    static let crashes = CompactionStep.allCases.flatMap { step in [Crash(step: step, powerCut: false), Crash(step: step, powerCut: true)] }

    /// Upsert records per id in the log file, read without the store.
    static func upsertCounts(_ disk: SimulatedDisk) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let (log, _) = try AppendOnlyLog.open(
            path: MemoryStore.logPath(in: PowerCutTests.directory), fsync: .never, fileSystem: disk.fileSystem()
        ) { record, _ in
            if case .upsert(let entry) = record { counts[entry.id, default: 0] += 1 }
        }
        try log.close()
        return counts
    }

    @Test(arguments: crashes)
    func aCrashAtAnyStepUnderConcurrentWritesAndSearchesKeepsEveryAcknowledgedEntryExactlyOnce(_ crash: Crash) async throws {
        // The writers, the searcher and the crash hook block threads: they get their own, not the cooperative pool's.
        try await onOwnThread { try Self.crashAtAnyStep(crash) }
    }

    private static func crashAtAnyStep(_ crash: Crash) throws {
        let disk = SimulatedDisk()
        let (store, _) = try MemoryStore.open(
            directory: PowerCutTests.directory, fsync: .always, compaction: .disabled, fileSystem: disk.fileSystem())
        let base = (0..<300).map { entry("base\($0)", "preloaded memory \($0) about coffee and tea") }
        try store.upsert(base)
        let rewritten = base[0..<200].map { entry($0.id, $0.text + " (rewritten)") }
        try store.upsert(rewritten)  // 200 dead records for the compaction to drop

        let acknowledged = Mutex<[MemoryEntry]>([])
        let counter = AcknowledgementCounter()
        let stop = Mutex(false)
        let searchFailures = Mutex<[String]>([])
        let group = DispatchGroup()
        for writer in 0..<2 {
            DispatchQueue.global().async(group: group) {
                var n = 0
                while !stop.withLock({ $0 }) {
                    let item = entry("w\(writer)-\(n)", "concurrent write \(n) by writer \(writer)")
                    do { try store.upsert(item) } catch { return }  // the "process" died
                    acknowledged.withLock { $0.append(item) }
                    counter.increment()
                    n += 1
                }
            }
        }
        DispatchQueue.global().async(group: group) {
            while !stop.withLock({ $0 }) {
                do {
                    _ = try store.search(query: "coffee", limit: 5)
                } catch {
                    searchFailures.withLock { $0.append("\(error)") }
                }
            }
        }

        let crashed = Mutex(false)
        store.compactionFaultHook.withLock {
            $0 = { step throws(MemoryStoreError) in
                if step == .liveRecordsWritten {
                    // Let the writers append while the live records are being written: the tail must be copied.
                    _ = counter.wait(until: counter.value + 25)
                }
                guard step == crash.step else { return }
                disk.crash(powerCut: crash.powerCut)
                crashed.withLock { $0 = true }
                throw MemoryStoreError(.io, "simulated crash at \(step)")
            }
        }
        #expect(throws: MemoryStoreError.self) { try store.compact() }
        #expect(crashed.withLock { $0 })
        stop.withLock { $0 = true }
        group.wait()
        #expect(searchFailures.withLock { $0 }.isEmpty)

        let written = acknowledged.withLock { $0 }
        #expect(written.count >= 25)
        let counts = try Self.upsertCounts(disk)
        let (reopened, report) = try MemoryStore.open(
            directory: PowerCutTests.directory, fsync: .always, compaction: .disabled, fileSystem: disk.fileSystem())
        #expect(report.truncation == nil)
        let lost = written.filter { reopened.get(id: $0.id) != $0 }
        #expect(lost.isEmpty, "acknowledged, then lost by \(crash.testDescription): \(lost.map(\.id).prefix(10))")
        let duplicated = written.filter { counts[$0.id] != 1 }
        #expect(duplicated.isEmpty, "not exactly once in the log: \(duplicated.map { "\($0.id)×\(counts[$0.id] ?? 0)" }.prefix(10))")
        for item in rewritten { #expect(reopened.get(id: item.id) == item) }
        for item in base[200...] { #expect(reopened.get(id: item.id) == item) }
        #expect(!disk.names.contains { $0.hasSuffix(".compact") }, "the stale temp file is removed on open")

        // The reopened store compacts cleanly.
        let compacted = try reopened.compact()
        #expect(compacted.entries == reopened.count)
        try reopened.close()
        #expect(try Self.upsertCounts(disk).values.allSatisfy { $0 == 1 })
    }

    @Test(.timeLimit(.minutes(1)))
    func theDeadBytesRatioTriggersABackgroundCompaction() async throws {
        try await withTemporaryDirectory { directory in
            let (store, _) = try MemoryStore.open(
                directory: directory, fsync: .never, compaction: CompactionPolicy(deadRatio: 0.5, minimumBytes: 16 << 10))
            let (events, continuation) = AsyncStream<CompactionEvent>.makeStream()
            store.onCompaction { continuation.yield($0) }
            var latest: [String: MemoryEntry] = [:]
            // Rewrite 100 ids until the log is past the minimum size and half of it is dead: the write that
            // crossed the threshold scheduled a compaction.
            var due = false
            round: for round in 0..<50 {
                let batch = (0..<100).map { entry("id\($0)", "round \(round) of memory \($0) with some words") }
                try store.upsert(batch)
                for item in batch { latest[item.id] = item }
                let statistics = store.compactionStatistics
                if statistics.running || statistics.completed > 0
                    || (statistics.logBytes >= 16 << 10 && 2 * statistics.deadBytes >= statistics.logBytes)
                {
                    due = true
                    break round
                }
            }
            try #require(due, "the log never reached the compaction threshold")
            var completed: CompactionReport?
            for await event in events {
                if case .completed(let report) = event {
                    completed = report
                    break
                }
                if case .failed(let error) = event { Issue.record("compaction failed: \(error)") }
            }
            let report = try #require(completed)
            #expect(report.bytesAfter < report.bytesBefore / 2)
            let statistics = store.compactionStatistics
            #expect(statistics.completed >= 1)
            #expect(statistics.bytesReclaimed >= report.bytesBefore - report.bytesAfter)
            #expect(report.pause <= report.duration)
            try store.close()
            let (reopened, openReport) = try MemoryStore.open(directory: directory)
            #expect(openReport.isClean)
            #expect(reopened.count == 100)
            for item in latest.values { #expect(reopened.get(id: item.id) == item) }
        }
    }

    @Test func aSecondOpenerNeverDeletesALiveCompactionsTempFile() async throws {
        try await withTemporaryDirectory { directory in
            let (store, _) = try MemoryStore.open(directory: directory)
            try store.upsert(entry("a", "kept"))
            let temporary = logPath(directory) + ".compact"
            try Data("a compaction in progress".utf8).write(to: URL(fileURLWithPath: temporary))
            #expect { _ = try MemoryStore.open(directory: directory) } throws: { ($0 as? MemoryStoreError)?.code == .locked }
            #expect(FileManager.default.fileExists(atPath: temporary), "the lock must be taken before any cleanup")
            try store.close()
        }
    }
}
