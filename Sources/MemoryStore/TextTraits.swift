/// What a search result's writer and the highlighter need to know of an entry's text, found once when the
/// entry is indexed (one byte per entry, ``SearchSnapshot/textTraits(at:)``) rather than by scanning the
/// text again for every result it appears in.
public struct TextTraits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Every byte is ASCII.
    public static let ascii = TextTraits(rawValue: 1 << 0)
    /// No byte JSON must escape: no control character (so no `\r` either), `"` or `\`. The text, and every
    /// snippet of it, goes into a JSON string as it is.
    public static let jsonPlain = TextTraits(rawValue: 1 << 1)
    /// The text has an ASCII apostrophe (`'`), which the highlighter's word rules treat apart.
    public static let apostrophe = TextTraits(rawValue: 1 << 2)
    /// ASCII whose only whitespace is single spaces between other characters (none first or last, no tab,
    /// no line break): collapsing whitespace runs, as a snippet does, changes nothing in it.
    public static let singleSpaced = TextTraits(rawValue: 1 << 3)

    /// The traits of `text`.
    public init(of text: String) {
        self = ASCII.withUTF8(text) { bytes in
            var ascii = true
            var plain = true
            var apostrophe = false
            var singleSpaced = bytes.first != 0x20 && bytes.last != 0x20
            var previous: UInt8 = 0
            for byte in bytes {
                if byte >= 0x80 { ascii = false }
                if ASCII.needsJSONEscape(byte) { plain = false }
                if byte == UInt8(ascii: "'") { apostrophe = true }
                if (byte >= 0x09 && byte <= 0x0D) || (byte == 0x20 && previous == 0x20) { singleSpaced = false }
                previous = byte
            }
            var traits: TextTraits = []
            if ascii, singleSpaced { traits.insert(.singleSpaced) }
            if ascii { traits.insert(.ascii) }
            if plain { traits.insert(.jsonPlain) }
            if apostrophe { traits.insert(.apostrophe) }
            return traits
        }
    }
}
