import Foundation

/// UTF-8 text whose every scalar is below U+0250 (ASCII, Latin-1 Supplement, Latin Extended-A and -B): the
/// accented names and places most non-ASCII memories have (`Zürich`, `São Paulo`, `Tomás`).
///
/// In such text a character is one scalar, one or two bytes (no combining mark, emoji, Hangul or regional
/// indicator is in range; `\r\n` is the one two-scalar character, as in ASCII), and the tokenizer's rules
/// reduce to a table: which scalars are letters, which are whitespace, and the one letter each lower-cases
/// to, already in NFC. The highlighter reads such text as bytes (``Highlighter``) and gives exactly what its
/// `Character` path gives. The table is made from the standard library's Unicode properties, and a scalar
/// for which any of that does not hold (U+0130 `İ` lower-cases to two scalars) makes the text take the
/// `Character` path.
enum LatinText {
    /// What the table knows of one scalar from U+0080 up.
    struct Scalar {
        /// The scalar `String.lowercased()` gives (itself if not a cased letter).
        let lowercase: UInt16
        let isLetter: Bool
        let isWhitespace: Bool
        /// False when the scalar breaks one of the assumptions above: text with it takes the `Character` path.
        let qualifies: Bool
    }

    /// Scalars below this take the byte path (with ASCII).
    static let limit: UInt32 = 0x250

    /// U+0080 ..< ``limit``, by scalar value minus 0x80.
    static let table: [Scalar] = (0x80..<limit).map { value in
        let scalar = Unicode.Scalar(value)!
        let lowered = Array(String(scalar).lowercased().unicodeScalars)
        let category = scalar.properties.generalCategory
        let isLetter: Bool =
            switch category {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
            default: false
            }
        // Word parts here are letters only (no decimal digit nor mark in range; checked, not assumed).
        let isOtherWordPart: Bool =
            switch category {
            case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark: true
            default: false
            }
        let lowercase = lowered.count == 1 ? lowered[0] : scalar
        let qualifies =
            lowered.count == 1 && lowercase.value < limit && !isOtherWordPart
            && Array(String(lowercase).precomposedStringWithCanonicalMapping.unicodeScalars) == [lowercase]
            && !scalar.properties.isIdeographic
        return Scalar(
            lowercase: UInt16(lowercase.value), isLetter: isLetter, isWhitespace: scalar.properties.isWhitespace,
            qualifies: qualifies)
    }

    /// Whether `bytes` (valid UTF-8) is such text (ASCII is too).
    static func qualifies(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            // Two-byte sequences only: U+0080…U+07FF; those past the limit have a lead byte past 0xC9.
            guard lead < 0xE0, index + 1 < bytes.count else { return false }
            let value = UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
            guard value < limit, table[Int(value) - 0x80].qualifies else { return false }
            index += 2
        }
        return true
    }

    /// The scalar at `index` (a character boundary of qualifying text) and its length in bytes.
    @inline(__always)
    static func scalar(at index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (value: UInt32, length: Int) {
        let lead = bytes[index]
        if lead < 0x80 { return (UInt32(lead), 1) }
        return (UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2)
    }

    static func isLetter(_ value: UInt32) -> Bool {
        value < 0x80 ? ASCII.isLetter(UInt8(value)) : table[Int(value) - 0x80].isLetter
    }

    /// A scalar that can be part of a word: an ASCII letter or digit, or a letter.
    static func isWordPart(_ value: UInt32) -> Bool {
        value < 0x80 ? ASCII.isAlphanumeric(UInt8(value)) : table[Int(value) - 0x80].isLetter
    }

    static func isWhitespace(_ value: UInt32) -> Bool {
        value < 0x80 ? ASCII.isWhitespace(UInt8(value)) : table[Int(value) - 0x80].isWhitespace
    }

    /// Appends the UTF-8 of `value`'s lowercase (one or two bytes) at `count` in `buffer`; returns the new count.
    @inline(__always)
    static func appendLowercase(_ value: UInt32, to buffer: UnsafeMutableBufferPointer<UInt8>, at count: Int) -> Int {
        if value < 0x80 {
            buffer[count] = ASCII.lowercased(UInt8(value))
            return count + 1
        }
        let lower = UInt32(table[Int(value) - 0x80].lowercase)
        if lower < 0x80 {
            buffer[count] = UInt8(lower)
            return count + 1
        }
        buffer[count] = 0xC0 | UInt8(lower >> 6)
        buffer[count + 1] = 0x80 | UInt8(lower & 0x3F)
        return count + 2
    }
}
