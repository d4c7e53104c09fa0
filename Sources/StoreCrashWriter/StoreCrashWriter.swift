import Foundation
import Glibc
import MemoryStore

/// Child process for the MemoryStore crash test: `StoreCrashWriter <dir>`.
///
/// Opens the store in `<dir>` with ``FsyncPolicy/always`` and upserts entries in batches of 1–4 until its parent
/// process is gone (so a test killed by a timeout leaves no writer behind),
/// printing each id on its own line to stdout (one unbuffered `write(2)` per batch) only after `upsert`
/// returned, i.e. once the entry is acknowledged as durable. The test SIGKILLs it at a random moment and
/// checks that every printed id survived intact.
///
/// Ids are `crash-<pid>-<n>`; the text and embedding are derived from the id (``expectedText(for:)``), so
/// the test can verify content without sharing state with the child. Exits 2 on bad usage, 1 on a store error.
@main
enum StoreCrashWriter {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 else {
            writeAll(2, "usage: StoreCrashWriter <directory>\n")
            exit(2)
        }
        do {
            let (store, _) = try MemoryStore.open(directory: arguments[1], dimension: 8, fsync: .always)
            let pid = getpid()
            let parent = getppid()
            var counter = 0
            var seed = UInt64(UInt32(bitPattern: pid)) | 1
            // Exit when the test that started us is gone (killed by a timeout): never write forever as an orphan.
            while getppid() == parent {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let batchSize = Int(seed >> 62) + 1
                var batch: [MemoryEntry] = []
                for _ in 0..<batchSize {
                    counter += 1
                    batch.append(entry(id: "crash-\(pid)-\(counter)"))
                }
                try store.upsert(batch)
                writeAll(1, batch.map { $0.id + "\n" }.joined())
            }
            exit(0)
        } catch {
            writeAll(2, "StoreCrashWriter: \(error)\n")
            exit(1)
        }
    }

    /// The entry the child writes for `id` (the test rebuilds it to compare).
    static func entry(id: String) -> MemoryEntry {
        let n = Int(id.split(separator: "-").last ?? "0") ?? 0
        return MemoryEntry(
            id: id, text: expectedText(for: id), tags: ["crash", "batch-\(n % 7)"],
            createdAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(n)),
            embedding: (0..<8).map { Float(($0 + n) % 5) + 0.5 })
    }

    /// `ack crash-12-7` plus 0–3 filler words (short, so that replaying thousands of records in a debug
    /// build stays fast).
    static func expectedText(for id: String) -> String {
        let n = Int(id.split(separator: "-").last ?? "0") ?? 0
        return "ack \(id)" + String(repeating: " lorem", count: n % 4)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
