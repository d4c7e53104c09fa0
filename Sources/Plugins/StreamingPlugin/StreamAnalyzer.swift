import Foundation
import MemoryStore

/// The pure parts of `memory_stream`: filtering, the fingerprint and the aggregations, all deterministic
/// for the same entries in the same order.
enum StreamAnalyzer {
    /// Whether `entry` passes `filter`.
    static func matches(_ entry: MemoryEntry, _ filter: StreamFilter?) -> Bool {
        guard let filter else { return true }
        if let since = filter.since, entry.createdAt < since { return false }
        if let until = filter.until, entry.createdAt >= until { return false }
        if let tags = filter.tags, !tags.allSatisfy(entry.tags.contains) { return false }
        return true
    }

    /// FNV-1a 64 over each entry's id, `createdAt` (milliseconds), tags and text, as 16 hex digits.
    static func fingerprint(_ entries: [MemoryEntry]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        func mix(_ text: String) {
            for byte in text.utf8 { mix(byte) }
            mix(0x1F)
        }
        for entry in entries {
            mix(entry.id)
            var millis = UInt64(bitPattern: Int64((entry.createdAt.timeIntervalSince1970 * 1000).rounded()))
            for _ in 0..<8 {
                mix(UInt8(truncatingIfNeeded: millis))
                millis >>= 8
            }
            for tag in entry.tags { mix(tag) }
            mix(0x1E)
            mix(entry.text)
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func exportItem(_ entry: MemoryEntry) -> ExportItem {
        ExportItem(id: entry.id, text: entry.text, tags: entry.tags, createdAt: UTCDate.iso8601(entry.createdAt))
    }

    /// Per-tag counts and first/last dates; `entries` must be in ascending `createdAt` order.
    static func tagStats(_ entries: [MemoryEntry]) -> [TagStat] {
        var stats: [String: (count: Int, first: Date, last: Date)] = [:]
        for entry in entries {
            for tag in Set(entry.tags) {
                if let current = stats[tag] {
                    stats[tag] = (current.count + 1, current.first, entry.createdAt)
                } else {
                    stats[tag] = (1, entry.createdAt, entry.createdAt)
                }
            }
        }
        return stats.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
            .map {
                TagStat(
                    tag: $0.key, count: $0.value.count, first: UTCDate.iso8601($0.value.first),
                    last: UTCDate.iso8601($0.value.last))
            }
    }

    /// Counts per UTC month from the first to the last entry's month, empty months included;
    /// `entries` must be in ascending `createdAt` order.
    static func timeline(_ entries: [MemoryEntry]) -> [MonthCount] {
        guard let first = entries.first, let last = entries.last else { return [] }
        let start = UTCDate.monthKey(first.createdAt)
        let end = UTCDate.monthKey(last.createdAt)
        var counts = [Int](repeating: 0, count: Int(end - start) + 1)
        for entry in entries { counts[Int(UTCDate.monthKey(entry.createdAt) - start)] += 1 }
        return counts.enumerated().map { MonthCount(month: UTCDate.monthLabel(start + Int64($0.offset)), count: $0.element) }
    }
}
