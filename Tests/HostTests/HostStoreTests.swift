import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MemoryStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The host and its data directory: a damaged log stops it before it listens (exit 1, with the damage and
/// the repair command), `router-host repair` salvages, samples never replace data, the store is closed on
/// shutdown, and compaction is on /metrics. Real files, the real binary.
@Suite("router-host and its memory store", .serialized)
struct HostStoreTests {
    static let written = (0..<12).map {
        MemoryEntry(
            id: "e\($0)", text: "memory \($0): the user prefers tea with lemon", tags: [],
            createdAt: Date(timeIntervalSince1970: 1_700_000_000 + Double($0)))
    }

    static func withDataDirectory(_ body: (String) async throws -> Void) async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hoststore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try await body(url.path)
    }

    /// Writes the 12 entries (one record each); returns the log's path and the record offsets.
    static func makeLog(_ directory: String) throws -> (path: String, offsets: [Int]) {
        let (store, _) = try MemoryStore.open(directory: directory)
        for item in written { try store.upsert(item) }
        try store.close()
        let path = MemoryStore.logPath(in: directory)
        let data = try bytes(path)
        var offsets: [Int] = []
        var offset = 8
        while offset + 8 <= data.count {
            offsets.append(offset)
            offset += 8 + (Int(data[offset]) | Int(data[offset + 1]) << 8 | Int(data[offset + 2]) << 16 | Int(data[offset + 3]) << 24)
        }
        return (path, offsets)
    }

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    struct Damage: Sendable, CustomTestStringConvertible {
        var name: String
        /// The expected message's core, from the record offsets.
        var expected: @Sendable ([Int]) -> String
        var apply: @Sendable (inout [UInt8], [Int]) -> Void
        var testDescription: String { name }
    }

    static let damages: [Damage] = [
        Damage(name: "flipped byte at the start", expected: { "record 0 at offset \($0[0]): checksum mismatch; 11 valid records follow it" }) {
            $0[$1[0] + 20] ^= 0x04
        },
        Damage(name: "flipped byte in the middle", expected: { "record 5 at offset \($0[5]): checksum mismatch; 6 valid records follow it" }) {
            $0[$1[5] + 18] ^= 0x04
        },
        Damage(name: "flipped byte at the end", expected: { "record 11 at offset \($0[11]): checksum mismatch; 0 valid records follow it" }) {
            _ = $1
            $0[$0.count - 2] ^= 0x10
        },
        Damage(name: "zeros over a block", expected: { "record 3 at offset \($0[3]): implausible payload length 0; 5 valid records follow it" }) {
            for index in $1[3]..<($1[7] - 5) { $0[index] = 0 }
        },
        Damage(name: "the first record's length overwritten", expected: { "record 0 at offset \($0[0]): implausible payload length 2130706488; 11 valid records follow it" }) {
            $0[$1[0] + 3] = 0x7F
        },
        Damage(name: "a bad length in the middle, past the end of the file", expected: { "record 4 at offset \($0[4]): truncated payload (needs 65592 bytes, " }) {
            $0[$1[4] + 2] = 0x01
        },
    ]

    @Test(arguments: damages)
    func aDamagedLogStopsTheHostBeforeItListensAndChangesNothing(_ damage: Damage) async throws {
        try await Self.withDataDirectory { directory in
            let (path, offsets) = try Self.makeLog(directory)
            var damaged = try Self.bytes(path)
            damage.apply(&damaged, offsets)
            try Self.write(path, damaged)

            let result = try await HostProcess.run(["--port", "0", "--data", directory])
            #expect(result.status == 1)
            #expect(result.stderr.contains("router-host: the memory log is damaged: \(path): \(damage.expected(offsets))"), "\(result.stderr)")
            #expect(result.stderr.contains("Nothing was changed and the host did not start."))
            #expect(result.stderr.contains("router-host repair --data \(directory)"))
            #expect(!result.stderr.contains("listening"))
            #expect(try Self.bytes(path) == damaged, "the host must not change a damaged log")
        }
    }

    @Test func repairSalvagesEveryValidRecordKeepsTheCopyAndTheHostStartsAgain() async throws {
        try await Self.withDataDirectory { directory in
            let (path, offsets) = try Self.makeLog(directory)
            var damaged = try Self.bytes(path)
            for index in (offsets[3] + 10)..<(offsets[7] - 5) { damaged[index] = 0 }
            try Self.write(path, damaged)

            let result = try await HostProcess.run(["repair", "--data", directory])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("repaired \(path)"))
            #expect(result.stdout.contains("kept: 8 records"))
            #expect(result.stdout.contains("lost: "))
            let copies = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".corrupt-") }
            #expect(copies.count == 1)
            #expect(try Self.bytes(directory + "/" + copies[0]) == damaged)

            let again = try await HostProcess.run(["--repair", "--data", directory])
            #expect(again.status == 0)
            #expect(again.stdout.contains("is intact: 8 records, nothing to repair"))

            let (host, _) = try await HostProcess.start(["--port", "0", "--data", directory])
            host.signal(SIGTERM)
            let (status, log) = await host.wait()
            #expect(status == 0)
            #expect(!log.contains("sample memories"), "samples must never be loaded into a repaired store")
            let (store, _) = try MemoryStore.open(directory: directory)
            #expect(store.count == 8)
            for index in [0, 1, 2, 7, 8, 9, 10, 11] { #expect(store.get(id: "e\(index)") == Self.written[index]) }
        }
    }

    @Test func repairWithoutADataDirectoryIsAUsageError() async throws {
        let result = try await HostProcess.run(["repair"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("repair needs the data directory"))
    }

    @Test func aTornTailIsCutAndLoggedAndTheStoreIsClosedOnShutdown() async throws {
        try await Self.withDataDirectory { directory in
            let (path, offsets) = try Self.makeLog(directory)
            #expect(truncate(path, off_t(offsets[11] + 13)) == 0)
            let (host, _) = try await HostProcess.start(["--port", "0", "--data", directory])
            host.signal(SIGTERM)
            let (status, log) = await host.wait()
            #expect(status == 0)
            #expect(log.contains("torn tail repaired: cut 13 bytes (an incomplete last record) at record 11 at offset \(offsets[11])"), "\(log)")
            #expect(log.contains("memory store \(directory): 11 entries"))
            #expect(!log.contains("sample memories"))
            #expect(log.contains("memory store \(directory) synced and closed"))
        }
    }

    @Test func aNewerRecordMidFileIsSkippedWithAWarningAndKept() async throws {
        try await Self.withDataDirectory { directory in
            let (path, offsets) = try Self.makeLog(directory)
            var bytes = try Self.bytes(path)
            let payload: [UInt8] = [0x09] + Array("from a newer build".utf8)
            var frame: [UInt8] = []
            withUnsafeBytes(of: UInt32(payload.count).littleEndian) { frame += $0 }
            let crc = crc32(frame + payload)
            withUnsafeBytes(of: crc.littleEndian) { frame += $0 }
            bytes.insert(contentsOf: frame + payload, at: offsets[6])
            try Self.write(path, bytes)

            let (host, _) = try await HostProcess.start(["--port", "0", "--data", directory])
            host.signal(SIGTERM)
            let (status, log) = await host.wait()
            #expect(status == 0)
            #expect(log.contains("skipped 1 record(s) written by a newer build (kept in the log; compaction disabled)"))
            #expect(log.contains("memory store \(directory): 12 entries"))
            #expect(try Self.bytes(path) == bytes)
        }
    }

    @Test func samplesLoadOnlyIntoADataDirectoryWithoutALog() async throws {
        try await Self.withDataDirectory { directory in
            let (fresh, _) = try await HostProcess.start(["--port", "0", "--data", directory])
            fresh.signal(SIGTERM)
            let first = await fresh.wait()
            #expect(first.status == 0)
            #expect(first.log.contains("sample memories"))

            // Every entry deleted: the store is empty but held data. No samples.
            let (store, _) = try MemoryStore.open(directory: directory)
            try store.delete(ids: store.allEntries().map(\.id))
            #expect(store.count == 0)
            try store.close()
            let (again, _) = try await HostProcess.start(["--port", "0", "--data", directory])
            again.signal(SIGTERM)
            let second = await again.wait()
            #expect(second.status == 0)
            #expect(!second.log.contains("sample memories"), "\(second.log)")
        }
    }

    @Test func metricsShowTheStoreAndItsCompactions() async throws {
        try await Self.withDataDirectory { directory in
            _ = try Self.makeLog(directory)
            let (host, port) = try await HostProcess.start(["--port", "0", "--data", directory])
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains("# TYPE memory_store_log_bytes gauge"))
            #expect(text.contains("memory_store_compactions_total 0"))
            #expect(text.contains("memory_store_dead_bytes 0"))
            host.signal(SIGTERM)
            #expect(await host.wait().status == 0)
        }
    }

    @Test func withoutADataDirectoryTheLogSaysTheStoreIsInMemoryOnly() async throws {
        let (host, _) = try await HostProcess.start(["--port", "0"])
        host.signal(SIGTERM)
        let (status, log) = await host.wait()
        #expect(status == 0)
        #expect(log.contains("memory store: in memory only (no --data directory): nothing is kept after exit"))
    }
}

/// CRC-32 (IEEE), bitwise: for crafting records in tests.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
