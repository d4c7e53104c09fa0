// Writes the log-reader seeds: real logs written by MemoryStore (`scripts/fuzz.sh seeds` compiles this
// together with Sources/MemoryStore, so the file format is the one the store writes today).
import Foundation

let output = CommandLine.arguments[1]
let directory = NSTemporaryDirectory() + "memory-router-seed-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }

let (store, _) = try MemoryStore.open(directory: directory, dimension: 3)
let date = Date(timeIntervalSince1970: 1_709_283_600)
try store.upsert([
    MemoryEntry(id: "mem-0001", text: "Prefers dark roast coffee, no sugar", tags: ["preference", "coffee"], createdAt: date,
                embedding: [0.1, -0.5, 0.25]),
    MemoryEntry(id: "mem-0002", text: "Project deadline is Friday 15:00 \u{2615}", tags: ["work"], createdAt: date.addingTimeInterval(60)),
])
try store.upsert(MemoryEntry(id: "mem-0003", text: "Sister's birthday: 12 March", tags: [], createdAt: date.addingTimeInterval(120)))
_ = try store.delete(ids: ["mem-0002"])
try store.close()

let logBytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + MemoryStore.logFileName))
try logBytes.write(to: URL(fileURLWithPath: output + "/store-log"))
// The same log with its last record torn, and with one payload byte flipped (damage repair salvages around).
try logBytes.prefix(logBytes.count - 5).write(to: URL(fileURLWithPath: output + "/torn-tail"))
var flipped = logBytes
flipped[40] ^= 0x20
try flipped.write(to: URL(fileURLWithPath: output + "/flipped-byte"))
try Data(AppendOnlyLog.magic).write(to: URL(fileURLWithPath: output + "/empty-log"))
