import Foundation
import Testing

@testable import MemoryStore

/// Damage on real files: recovery truncates only a torn last record; anything else refuses to open, names the
/// damage and changes nothing; repair salvages every record whose checksum is valid.
@Suite("Corruption and repair")
struct CorruptionTests {
    static let written = (0..<12).map { entry("e\($0)", "memory \($0): the user prefers tea with lemon", at: Double($0)) }

    /// A log of 12 one-record upserts; returns the record offsets.
    static func makeLog(_ directory: String) throws -> [Int] {
        let (store, _) = try MemoryStore.open(directory: directory)
        for item in written { try store.upsert(item) }
        try store.close()
        return try recordOffsets(logPath(directory))
    }

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// A framed record with a valid checksum whose kind (0x09) this build does not know.
    static func newerKindFrame() -> [UInt8] {
        let payload: [UInt8] = [0x09] + Array("a record type from the future".utf8)
        var frame: [UInt8] = []
        BinaryCoding.appendUInt32(UInt32(payload.count), to: &frame)
        let crc = payload.withUnsafeBytes { CRC32.update(frame.withUnsafeBytes { CRC32.update(0, $0) }, $0) }
        BinaryCoding.appendUInt32(crc, to: &frame)
        return frame + payload
    }

    /// How each case damages the log, which record the open must blame, and which entries stay intact.
    struct Damage: Sendable, CustomTestStringConvertible {
        var name: String
        var recordIndex: Int
        var validAfter: Int
        var intact: [Int]
        var apply: @Sendable ([UInt8], [Int]) -> [UInt8]
        var testDescription: String { name }
    }

    static let damages: [Damage] = [
        Damage(name: "flipped byte in the first record", recordIndex: 0, validAfter: 11, intact: Array(1..<12)) { bytes, offsets in
            var bytes = bytes
            bytes[offsets[0] + 8 + 12] ^= 0x04
            return bytes
        },
        Damage(name: "flipped byte in the middle", recordIndex: 5, validAfter: 6, intact: Array(0..<5) + Array(6..<12)) { bytes, offsets in
            var bytes = bytes
            bytes[offsets[5] + 8 + 10] ^= 0x04
            return bytes
        },
        Damage(name: "flipped byte in the last record", recordIndex: 11, validAfter: 0, intact: Array(0..<11)) { bytes, offsets in
            var bytes = bytes
            bytes[bytes.count - 3] ^= 0x40
            return bytes
        },
        Damage(name: "zeros over a block", recordIndex: 3, validAfter: 5, intact: Array(0..<3) + Array(7..<12)) { bytes, offsets in
            var bytes = bytes
            for index in (offsets[3] + 10)..<(offsets[7] - 5) { bytes[index] = 0 }
            return bytes
        },
        Damage(name: "the first record's length overwritten", recordIndex: 0, validAfter: 11, intact: Array(1..<12)) { bytes, offsets in
            var bytes = bytes
            bytes[offsets[0] + 3] = 0x7F
            return bytes
        },
        Damage(name: "a bad length in the middle (still inside the file)", recordIndex: 4, validAfter: 7, intact: Array(0..<4) + Array(5..<12)) { bytes, offsets in
            var bytes = bytes
            bytes[offsets[4]] &+= 3
            return bytes
        },
    ]

    @Test(arguments: damages)
    func damageRefusesToOpenChangesNothingAndRepairSalvagesEveryValidRecord(_ damage: Damage) async throws {
        try await withTemporaryDirectory { directory in
            let offsets = try Self.makeLog(directory)
            let path = logPath(directory)
            let damaged = damage.apply(try Self.bytes(path), offsets)
            try Self.write(path, damaged)

            #expect {
                _ = try MemoryStore.open(directory: directory)
            } throws: { error in
                guard let error = error as? MemoryStoreError, error.code == .corrupt, let found = error.damage else { return false }
                return found.path == path && found.recordIndex == damage.recordIndex
                    && found.offset == offsets[damage.recordIndex] && found.validRecordsAfter == damage.validAfter
                    && error.message.contains("record \(damage.recordIndex) at offset \(offsets[damage.recordIndex])")
                    && error.message.contains("router-host repair --data")
            }
            #expect(try Self.bytes(path) == damaged, "a refused open must not change the file")

            let report = try MemoryStore.repair(directory: directory)
            #expect(report.repaired)
            #expect(report.recordsKept == damage.intact.count)
            #expect(report.bytesLost > 0)
            let copy = try #require(report.copyPath)
            #expect(copy.hasPrefix(path + ".corrupt-"))
            #expect(try Self.bytes(copy) == damaged, "the copy aside is the damaged log, byte for byte")

            let (store, openReport) = try MemoryStore.open(directory: directory)
            #expect(openReport.isClean)
            for index in damage.intact { #expect(store.get(id: "e\(index)") == Self.written[index], "intact e\(index) lost") }
            #expect(store.count == damage.intact.count)
            try store.close()
            #expect(FileManager.default.fileExists(atPath: copy), "repair never deletes the copy")
        }
    }

    @Test func aTornLastRecordIsTheOnlyDamageRecoveryCuts() async throws {
        for cutInside in [3, 8 + 5] {  // inside the last record's header, inside its payload
            try await withTemporaryDirectory { directory in
                let offsets = try Self.makeLog(directory)
                let path = logPath(directory)
                #expect(truncate(path, off_t(offsets[11] + cutInside)) == 0)
                let (store, report) = try MemoryStore.open(directory: directory)
                #expect(report.truncation?.recordIndex == 11)
                #expect(report.truncation?.offset == offsets[11])
                #expect(report.bytesTruncated == cutInside)
                #expect(store.count == 11)
                for index in 0..<11 { #expect(store.get(id: "e\(index)") == Self.written[index]) }
                try store.close()
            }
        }
    }

    @Test func aFileCutInsideItsHeaderHeldNoRecordAndIsRecreated() async throws {
        try await withTemporaryDirectory { directory in
            _ = try Self.makeLog(directory)
            let path = logPath(directory)
            #expect(truncate(path, 5) == 0)
            let (store, report) = try MemoryStore.open(directory: directory)
            #expect(report.truncation?.problem == "truncated header (5 of 8 bytes)")
            #expect(!report.created, "a log existed: this is a recovery, not a new store")
            #expect(store.count == 0)
        }
    }

    @Test func aNewerKindOfRecordInTheMiddleIsKeptAndSkipped() async throws {
        try await withTemporaryDirectory { directory in
            let offsets = try Self.makeLog(directory)
            let path = logPath(directory)
            var bytes = try Self.bytes(path)
            bytes.insert(contentsOf: Self.newerKindFrame(), at: offsets[6])
            try Self.write(path, bytes)

            let (store, report) = try MemoryStore.open(directory: directory, compaction: CompactionPolicy(deadRatio: 0.01, minimumBytes: 0))
            #expect(report.newerRecordsSkipped == 1)
            #expect(report.truncation == nil)
            #expect(report.description.contains("skipped 1 record written by a newer build"))
            #expect(store.count == 12)
            for item in Self.written { #expect(store.get(id: item.id) == item) }
            // Compaction would drop the record it cannot read: refused.
            #expect { try store.compact() } throws: { ($0 as? MemoryStoreError)?.code == .newerFormat }
            try store.upsert(entry("e0", "replaced"))
            try store.close()
            #expect(try Self.bytes(path).starts(with: bytes), "the newer record and everything after it are kept")
        }
    }

    @Test func aLogOfANewerFormatVersionIsRefusedClearly() async throws {
        try await withTemporaryDirectory { directory in
            _ = try Self.makeLog(directory)
            let path = logPath(directory)
            var bytes = try Self.bytes(path)
            bytes[6] = 2
            try Self.write(path, bytes)
            #expect {
                _ = try MemoryStore.open(directory: directory)
            } throws: { error in
                guard let error = error as? MemoryStoreError else { return false }
                return error.code == .newerFormat
                    && error.message == "\(path) was written by a newer build (log format version 2; this build reads version 1). Run a build that supports it; the file was not changed."
            }
            #expect { _ = try MemoryStore.repair(directory: directory) } throws: { ($0 as? MemoryStoreError)?.code == .newerFormat }
            #expect(try Self.bytes(path) == bytes)
        }
    }

    @Test func aDamagedHeaderIsRefusedAndRepairRewritesIt() async throws {
        try await withTemporaryDirectory { directory in
            _ = try Self.makeLog(directory)
            let path = logPath(directory)
            var bytes = try Self.bytes(path)
            bytes[0] ^= 0x01
            try Self.write(path, bytes)
            #expect { _ = try MemoryStore.open(directory: directory) } throws: { ($0 as? MemoryStoreError)?.code == .notAStoreFile }
            #expect(try Self.bytes(path) == bytes)
            let report = try MemoryStore.repair(directory: directory)
            #expect(report.headerDamaged && report.recordsKept == 12)
            let (store, _) = try MemoryStore.open(directory: directory)
            #expect(store.count == 12)
        }
    }

    @Test func repairOfAnIntactLogChangesNothing() async throws {
        try await withTemporaryDirectory { directory in
            _ = try Self.makeLog(directory)
            let before = try Self.bytes(logPath(directory))
            let report = try MemoryStore.repair(directory: directory)
            #expect(!report.repaired && report.copyPath == nil && report.recordsKept == 12)
            #expect(try Self.bytes(logPath(directory)) == before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [MemoryStore.logFileName])
        }
    }

    @Test func repairRefusesAForeignFile() async throws {
        try await withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let content = Array(#"{"not": "a log"}"#.utf8)
            try Self.write(logPath(directory), content)
            #expect { _ = try MemoryStore.repair(directory: directory) } throws: { ($0 as? MemoryStoreError)?.code == .notAStoreFile }
            #expect(try Self.bytes(logPath(directory)) == content)
        }
    }

    /// Found by the log-reader fuzz target: repair of a log torn inside its header, after the 6 magic bytes,
    /// read the version bytes past the end and trapped. It holds no record, so repair refuses and changes nothing.
    @Test(arguments: [6, 7])
    func repairOfALogTornAfterItsMagicRefusesWithoutCrashing(length: Int) async throws {
        try await withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let content = Array(AppendOnlyLog.magic.prefix(length))
            try Self.write(logPath(directory), content)
            #expect { _ = try MemoryStore.repair(directory: directory) } throws: { ($0 as? MemoryStoreError)?.code == .notAStoreFile }
            #expect(try Self.bytes(logPath(directory)) == content)
        }
    }
}
