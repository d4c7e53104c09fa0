/// An entry's `id`, `tags` and `createdAt` as JSON object members, `"id":"…","tags":[…],"createdAt":"…"`,
/// written once when the entry is indexed. A search result that shows the entry copies them, where it would
/// read the entry (counting a reference to each of its fields) and write each field again.
///
/// Only for an entry whose id and tags have no byte JSON must escape (a control character, `"` or `\`) and
/// whose `createdAt` has a year in 0…9999: the text is then what any JSON writer writes for those values,
/// its strings as they are. Another entry has none, and its results write its fields themselves.
struct EntryJSON: Sendable {
    let bytes: [UInt8]

    init?(_ entry: MemoryEntry, createdAt: ISO8601Millis.Formatted) {
        guard !Self.needsEscaping(entry.id), !entry.tags.contains(where: Self.needsEscaping) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(
            40 + entry.id.utf8.count + entry.tags.reduce(0) { $0 + $1.utf8.count + 3 } + 24)
        func append(_ text: StaticString) {
            text.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }
        func appendString(_ text: String) {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
        }
        append(#""id":"#)
        appendString(entry.id)
        append(#","tags":["#)
        for (index, tag) in entry.tags.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendString(tag)
        }
        append(#"],"createdAt":""#)
        guard createdAt.withUTF8({ bytes.append(contentsOf: $0) }) else { return nil }
        bytes.append(UInt8(ascii: "\""))
        self.bytes = bytes
    }

    private static func needsEscaping(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }
}
