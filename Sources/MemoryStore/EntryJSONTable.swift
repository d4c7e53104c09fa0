/// Each document's `id`, `tags` and `createdAt` as JSON values (`"m1"`, `["a","b"]`,
/// `"2024-03-01T09:00:00.000Z"`), written once when the document is indexed. A search result that shows
/// the document copies them, where it would read the entry (counting a reference to each of its fields)
/// and write each field again.
///
/// Only for an entry whose id and tags have no byte JSON must escape (a control character, `"` or `\`) and
/// whose `createdAt` has a year in 0…9999: the text is then what any JSON writer writes for those values,
/// its strings as they are. Another document has none, and its results write its fields themselves.
///
/// Kept in blocks of 4,096 documents, each one byte buffer and one end offset per document (no object per
/// document: 50–100 bytes each for ids and tags of usual lengths), copied on write like ``BlockedArray``'s.
struct EntryJSONTable: Sendable {
    private struct Block {
        var bytes: [UInt8] = []
        /// Where each document's values end in `bytes`; they start where the previous document's end (or at 0).
        /// Equal ends: the document has none.
        var ends: [UInt32] = []
    }

    /// The length of a quoted `createdAt`: the values' last bytes.
    private static let quotedDateCount = 26
    private var blocks: [Block] = []

    /// Appends the next document's values, or none for an entry they would misrepresent.
    mutating func append(_ entry: MemoryEntry) {
        let blockSize = BlockedArray<UInt8>.blockSize
        if blocks.last.map({ $0.ends.count == blockSize }) ?? true {
            var block = Block()
            block.ends.reserveCapacity(blockSize)
            blocks.append(block)
        }
        let last = blocks.count - 1
        let start = blocks[last].bytes.count
        if !Self.write(entry, into: &blocks[last].bytes) {
            blocks[last].bytes.removeSubrange(start...)
        }
        blocks[last].ends.append(UInt32(blocks[last].bytes.count))
    }

    /// Writes `"id"["tags",…]"createdAt"`; false (having written part of it) when the entry has none.
    private static func write(_ entry: MemoryEntry, into bytes: inout [UInt8]) -> Bool {
        guard !needsEscaping(entry.id), !entry.tags.contains(where: needsEscaping) else { return false }
        func appendString(_ text: String) {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
        }
        appendString(entry.id)
        bytes.append(UInt8(ascii: "["))
        for (index, tag) in entry.tags.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendString(tag)
        }
        bytes.append(UInt8(ascii: "]"))
        bytes.append(UInt8(ascii: "\""))
        guard ISO8601Millis.Formatted(entry.createdAt).withUTF8({ bytes.append(contentsOf: $0) }) else { return false }
        bytes.append(UInt8(ascii: "\""))
        return true
    }

    private static func needsEscaping(_ text: String) -> Bool {
        text.utf8.contains(where: ASCII.needsJSONEscape)
    }

    /// Calls `body` with document `doc`'s id (quoted), tags (an array) and date (quoted) as JSON text, in
    /// place; nil (without a call) if it has none.
    func withValues<Result>(
        of doc: Int,
        _ body: (_ id: UnsafeBufferPointer<UInt8>, _ tags: UnsafeBufferPointer<UInt8>, _ createdAt: UnsafeBufferPointer<UInt8>)
            -> Result
    ) -> Result? {
        let shift = BlockedArray<UInt8>.blockShift
        let mask = BlockedArray<UInt8>.blockMask
        return blocks.withUnsafeBufferPointer { blocks -> Result? in
            let block = blocks.baseAddress! + (doc >> shift)
            let slot = doc & mask
            let end = Int(block.pointee.ends[slot])
            let start = slot == 0 ? 0 : Int(block.pointee.ends[slot - 1])
            guard end > start else { return nil }
            return block.pointee.bytes.withUnsafeBufferPointer { bytes -> Result in
                let values = UnsafeBufferPointer(rebasing: bytes[start..<end])
                // The id has no quote of its own: it ends at its second. The date is the last 26 bytes.
                let idEnd = values[1...].firstIndex(of: UInt8(ascii: "\""))! + 1
                let dateStart = values.endIndex - Self.quotedDateCount
                return body(
                    UnsafeBufferPointer(rebasing: values[..<idEnd]), UnsafeBufferPointer(rebasing: values[idEnd..<dateStart]),
                    UnsafeBufferPointer(rebasing: values[dateStart...]))
            }
        }
    }
}
