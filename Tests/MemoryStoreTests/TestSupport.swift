import Foundation
import MemoryStore

/// A fresh directory under the system temp dir, removed when the test body returns.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("memstore-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

func entry(_ id: String, _ text: String, tags: [String] = [], at seconds: Double = 1_700_000_000, embedding: [Float]? = nil)
    -> MemoryEntry
{
    MemoryEntry(id: id, text: text, tags: tags, createdAt: date(seconds), embedding: embedding)
}

/// Byte offsets of each record in a log file (walking the length prefixes after the 8-byte header).
func recordOffsets(_ path: String) throws -> [Int] {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var offsets: [Int] = []
    var offset = 8
    while offset + 8 <= data.count {
        let length = Int(data[offset]) | Int(data[offset + 1]) << 8 | Int(data[offset + 2]) << 16 | Int(data[offset + 3]) << 24
        offsets.append(offset)
        offset += 8 + length
    }
    return offsets
}

func fileSize(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
}

func logPath(_ directory: String) -> String { directory + "/" + MemoryStore.logFileName }
