import Testing

@testable import MemoryStore

/// Proof of fsync: the log runs on a ``SimulatedDisk`` that keeps only what was synced when the power is cut.
/// Each test states one fsync policy's promise and fails if an acknowledged write the policy promises was
/// not synced. (The SIGKILL crash test cannot tell: a killed process leaves its writes in the page cache.)
@Suite("Power cut (simulated disk)")
struct PowerCutTests {
    static let directory = "/simulated"

    static func open(_ disk: SimulatedDisk, fsync: FsyncPolicy) throws -> (MemoryStore, OpenReport) {
        try MemoryStore.open(directory: directory, fsync: fsync, compaction: .disabled, fileSystem: disk.fileSystem())
    }

    @Test func alwaysEveryAcknowledgedWriteSurvivesAPowerCut() throws {
        let disk = SimulatedDisk()
        let (store, _) = try Self.open(disk, fsync: .always)
        var acknowledged: [MemoryEntry] = []
        for index in 0..<60 {
            let batch = (0..<(index % 3 + 1)).map { entry("p\(index)-\($0)", "acknowledged write \(index).\($0)") }
            try store.upsert(batch)
            acknowledged += batch
        }
        try store.delete(ids: ["p0-0"])
        acknowledged.removeAll { $0.id == "p0-0" }
        withExtendedLifetime(store) { disk.crash(powerCut: true) }

        let (reopened, report) = try Self.open(disk, fsync: .always)
        let missing = acknowledged.filter { reopened.get(id: $0.id) != $0 }
        #expect(missing.isEmpty, "acknowledged under fsync always, lost by a power cut: \(missing.map(\.id).prefix(10))")
        #expect(reopened.get(id: "p0-0") == nil, "an acknowledged delete was lost")
        #expect(report.isClean)
        #expect(reopened.count == acknowledged.count)
    }

    @Test func intervalLosesAtMostThePeriod() throws {
        let period: Duration = .seconds(1)
        let disk = SimulatedDisk()
        let (store, _) = try Self.open(disk, fsync: .interval(period))
        var acknowledgedAt: [(entry: MemoryEntry, at: Duration)] = []
        var now: Duration = .zero
        for index in 0..<40 {
            disk.advance(by: .milliseconds(130))
            now += .milliseconds(130)
            let item = entry("i\(index)", "interval write \(index)")
            try store.upsert(item)
            acknowledgedAt.append((item, now))
            #expect(disk.pendingTimers.allSatisfy { $0 <= period }, "a sync was scheduled later than the period")
        }
        // Idle for longer than the period: the scheduled sync must have made every write durable.
        disk.advance(by: .milliseconds(1001))
        now += .milliseconds(1001)
        withExtendedLifetime(store) { disk.crash(powerCut: true) }

        let (reopened, _) = try Self.open(disk, fsync: .never)
        let promised = acknowledgedAt.filter { $0.at + period <= now }
        #expect(promised.count == 40)
        let missing = promised.filter { reopened.get(id: $0.entry.id) != $0.entry }
        #expect(missing.isEmpty, "acknowledged more than \(period) before the cut, yet lost: \(missing.map(\.entry.id))")
    }

    @Test func intervalWritesOlderThanThePeriodSurviveACutWhileWritesContinue() throws {
        let period: Duration = .milliseconds(500)
        let disk = SimulatedDisk()
        let (store, _) = try Self.open(disk, fsync: .interval(period))
        var acknowledgedAt: [(entry: MemoryEntry, at: Duration)] = []
        var now: Duration = .zero
        for index in 0..<50 {
            disk.advance(by: .milliseconds(70))
            now += .milliseconds(70)
            let item = entry("w\(index)", "continuous write \(index)")
            try store.upsert(item)
            acknowledgedAt.append((item, now))
        }
        withExtendedLifetime(store) { disk.crash(powerCut: true) }
        let (reopened, _) = try Self.open(disk, fsync: .never)
        let promised = acknowledgedAt.filter { $0.at + period <= now }
        #expect(promised.count > 40)
        let missing = promised.filter { reopened.get(id: $0.entry.id) != $0.entry }
        #expect(missing.isEmpty, "older than the period at the cut, yet lost: \(missing.map(\.entry.id))")
    }

    @Test func neverPromisesNothingUntilCloseAndCloseSyncs() throws {
        let disk = SimulatedDisk()
        do {
            let (store, _) = try Self.open(disk, fsync: .never)
            try store.upsert((0..<10).map { entry("n\($0)", "never-synced write \($0)") })
            // Documented: under `never`, a power cut before a sync loses acknowledged writes.
            withExtendedLifetime(store) { disk.crash(powerCut: true) }
            let (reopened, _) = try Self.open(disk, fsync: .never)
            #expect(reopened.count == 0)
            try reopened.close()
        }
        let (store, _) = try Self.open(disk, fsync: .never)
        let written = (0..<10).map { entry("c\($0)", "closed write \($0)") }
        try store.upsert(written)
        try store.close()
        disk.crash(powerCut: true)
        let (reopened, _) = try Self.open(disk, fsync: .never)
        #expect(written.allSatisfy { reopened.get(id: $0.id) == $0 }, "close() must sync under fsync never")
    }
}
