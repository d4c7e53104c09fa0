import Foundation
import Glibc
import Testing

@testable import MemoryStore

@Suite("Append-only log")
struct AppendOnlyLogTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        let whole = CRC32.checksum(Array("hello world".utf8))
        let split = Array("world".utf8).withUnsafeBytes { tail in
            CRC32.update(Array("hello ".utf8).withUnsafeBytes { CRC32.update(0, $0) }, tail)
        }
        #expect(whole == split)
        #expect(whole == 0x0D4A_1185)
    }

    @Test func recordsRoundTripThroughTheBinaryPayload() throws {
        let records: [LogRecord] = [
            .upsert(entry("a", "Zoë likes café ☕️", tags: ["x", "ü"], at: 1_700_000_000.123_456, embedding: [1, -0.5, .pi])),
            .upsert(entry("b", "", tags: [], at: -12.5)),
            .delete(id: "a"),
        ]
        for record in records {
            var payload: [UInt8] = []
            record.encode(into: &payload)
            let decoded = try payload.withUnsafeBytes { try LogRecord.decode($0) }
            #expect(decoded == record)
            // Any truncation of a payload must fail to decode rather than yield a different record.
            for cut in 0..<payload.count {
                #expect(throws: BinaryCoding.DecodeError.self) {
                    try Array(payload[0..<cut]).withUnsafeBytes { try LogRecord.decode($0) }
                }
            }
        }
    }

    @Test func reopenAfterWritesGivesEqualEntries() async throws {
        try await withTemporaryDirectory { directory in
            let written = SyntheticMemories.generate(count: 300, seed: 7, dimension: 16)
            do {
                let (store, report) = try MemoryStore.open(directory: directory, dimension: 16)
                #expect(report.created && report.isClean && report.recordsLoaded == 0)
                try store.upsert(Array(written[0..<100]))
                for item in written[100...] { try store.upsert(item) }
                try store.close()
            }
            let (store, report) = try MemoryStore.open(directory: directory, dimension: 16)
            #expect(report.isClean)
            #expect(!report.created)
            #expect(report.recordsLoaded == 300)
            #expect(report.entriesLoaded == 300)
            #expect(store.count == 300)
            for item in written { #expect(store.get(id: item.id) == item) }
            #expect(store.allEntries() == written.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) })
        }
    }

    @Test func tornTailIsTruncatedAndReported() async throws {
        try await withTemporaryDirectory { directory in
            let written = (0..<10).map { entry("e\($0)", "entry number \($0) with some text", at: Double($0)) }
            do {
                let (store, _) = try MemoryStore.open(directory: directory)
                for item in written { try store.upsert(item) }
                try store.close()
            }
            let path = logPath(directory)
            let offsets = try recordOffsets(path)
            #expect(offsets.count == 10)
            let fullSize = try fileSize(path)
            let cut = offsets[9] + 8 + 5  // inside the last record's payload
            #expect(truncate(path, off_t(cut)) == 0)

            let (store, report) = try MemoryStore.open(directory: directory)
            #expect(report.recordsLoaded == 9)
            #expect(report.bytesTruncated == cut - offsets[9])
            #expect(report.truncation?.recordIndex == 9)
            #expect(report.truncation?.offset == offsets[9])
            #expect(report.truncation?.problem.hasPrefix("truncated payload") == true)
            #expect(report.truncation?.reason.hasPrefix("record 9 at offset \(offsets[9]): truncated payload") == true)
            #expect(try fileSize(path) == offsets[9])
            #expect(store.count == 9)
            for item in written.prefix(9) { #expect(store.get(id: item.id) == item) }
            #expect(store.get(id: "e9") == nil)
            #expect(fullSize > cut)

            // The repaired log accepts appends and reopens clean.
            try store.upsert(written[9])
            try store.close()
            let (again, secondReport) = try MemoryStore.open(directory: directory)
            #expect(secondReport.isClean)
            #expect(again.count == 10)
            #expect(again.get(id: "e9") == written[9])
        }
    }

    @Test func tornRecordHeaderIsTruncated() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let (store, _) = try MemoryStore.open(directory: directory)
                try store.upsert([entry("a", "first"), entry("b", "second")])
                try store.close()
            }
            let path = logPath(directory)
            let offsets = try recordOffsets(path)
            #expect(truncate(path, off_t(offsets[1] + 3)) == 0)
            let (store, report) = try MemoryStore.open(directory: directory)
            #expect(report.truncation == .init(recordIndex: 1, offset: offsets[1], problem: "truncated record header (3 of 8 bytes)"))
            #expect(report.bytesTruncated == 3)
            #expect(store.get(id: "a")?.text == "first")
            #expect(store.count == 1)
        }
    }

    @Test func foreignFileIsRefusedAndLeftUntouched() async throws {
        try await withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = logPath(directory)
            let content = Data("{\"not\": \"a log\"}".utf8)
            try content.write(to: URL(fileURLWithPath: path))
            #expect {
                _ = try MemoryStore.open(directory: directory)
            } throws: { ($0 as? MemoryStoreError)?.code == .notAStoreFile }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
        }
    }

    @Test func aSecondOpenOfTheSameDirectoryIsLocked() async throws {
        try await withTemporaryDirectory { directory in
            let (store, _) = try MemoryStore.open(directory: directory)
            #expect {
                _ = try MemoryStore.open(directory: directory)
            } throws: { ($0 as? MemoryStoreError)?.code == .locked }
            try store.close()
            #expect(throws: MemoryStoreError.self) { try store.upsert(entry("x", "after close")) }
            let (reopened, _) = try MemoryStore.open(directory: directory)
            #expect(reopened.count == 0)
        }
    }

    @Test func compactionShrinksTheLogKeepsContentAndReopens() async throws {
        try await withTemporaryDirectory { directory in
            let (store, _) = try MemoryStore.open(directory: directory, dimension: 8)
            let base = SyntheticMemories.generate(count: 200, seed: 3, dimension: 8)
            try store.upsert(base)
            var replaced = base[0..<150].map { item in
                var copy = item
                copy.text += " (updated)"
                return copy
            }
            try store.upsert(replaced)
            try store.delete(ids: base[170..<200].map(\.id))
            replaced += base[150..<170]
            let before = store.allEntries()
            #expect(before.count == 170)
            let searchBefore = try store.search(query: "project migration coffee", limit: 20)

            let sizeBefore = try #require(store.logSize)
            let report = try store.compact()
            #expect(report.entries == 170)
            #expect(report.bytesBefore == sizeBefore)
            #expect(report.bytesAfter < sizeBefore)
            #expect(try fileSize(logPath(directory)) == report.bytesAfter)
            #expect(store.allEntries() == before)
            #expect(try store.search(query: "project migration coffee", limit: 20).map(\.entry.id) == searchBefore.map(\.entry.id))
            #expect(!FileManager.default.fileExists(atPath: logPath(directory) + ".compact"))

            // Writes after compaction land in the new file.
            try store.upsert(entry("after", "written after compaction"))
            try store.close()
            let (reopened, openReport) = try MemoryStore.open(directory: directory, dimension: 8)
            #expect(openReport.isClean)
            #expect(openReport.recordsLoaded == 171)
            #expect(reopened.count == 171)
            #expect(reopened.allEntries().filter { $0.id != "after" } == before)
            for item in replaced { #expect(reopened.get(id: item.id) == item) }
        }
    }

    @Test func leftoverCompactionTempFileIsIgnoredAndRemoved() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let (store, _) = try MemoryStore.open(directory: directory)
                try store.upsert(entry("a", "kept"))
                try store.close()
            }
            let temporary = logPath(directory) + ".compact"
            try Data("half-written compaction".utf8).write(to: URL(fileURLWithPath: temporary))
            let (store, report) = try MemoryStore.open(directory: directory)
            #expect(report.isClean)
            #expect(store.get(id: "a")?.text == "kept")
            #expect(!FileManager.default.fileExists(atPath: temporary))
        }
    }

    /// The background sync itself, without `close()` (which syncs anyway): on a simulated disk whose clock the
    /// test moves, the writes are durable after one period, so a power cut then loses none of them.
    @Test func intervalPolicySyncsInTheBackgroundAndPersists() throws {
        let disk = SimulatedDisk()
        let (store, _) = try MemoryStore.open(
            directory: "/simulated", fsync: .interval(.milliseconds(20)), compaction: .disabled, fileSystem: disk.fileSystem())
        for index in 0..<20 { try store.upsert(entry("i\(index)", "interval write \(index)")) }
        let syncsBefore = disk.fsyncCount
        disk.advance(by: .milliseconds(20))  // runs the sync the policy scheduled
        #expect(disk.fsyncCount > syncsBefore, "the background sync ran")
        withExtendedLifetime(store) { disk.crash(powerCut: true) }
        let (reopened, report) = try MemoryStore.open(
            directory: "/simulated", fsync: .never, compaction: .disabled, fileSystem: disk.fileSystem())
        #expect(report.recordsLoaded == 20)
        #expect(reopened.get(id: "i19")?.text == "interval write 19")
    }
}
