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

/// Runs blocking work (child-process waits, semaphores, joins) on a thread of its own, so it never holds
/// one of the few cooperative threads every other test in the process needs.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 22
        thread.start()
    }
}
