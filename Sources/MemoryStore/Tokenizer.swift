import Foundation

/// Splits text into search terms, the same way for documents and queries.
///
/// Rules, in order:
/// - A token is a maximal run of Unicode letters (categories L*), combining marks (M*, inside a word) and
///   decimal digits (Nd). Everything else separates tokens: spaces, punctuation, symbols, `-`, `_`.
/// - An apostrophe (`'` or `’`) between two letters stays inside the word; then a trailing possessive `'s`
///   is dropped and other apostrophes are removed (`user's` → `user`, `don't` → `dont`).
/// - Ideographs (Han, and kana) have no spaces between words, so each one is a token of its own.
/// - Terms are lower-cased (Unicode-aware, `String.lowercased()`) and, if not ASCII, normalized to NFC, so
///   precomposed and decomposed accents match (`café` == `cafe\u{301}`).
/// - Stop words (``englishStopWords`` by default) and tokens longer than ``maxTokenLength`` UTF-8 bytes are
///   dropped. There is no stemming: `prefers` does not match `prefer`.
public struct Tokenizer: Sendable {
    /// A term and where it came from in the original text (for highlighting).
    public struct Token: Sendable, Equatable {
        /// The normalized term (lower-cased, NFC, apostrophes handled).
        public var term: String
        /// Its range in the original text.
        public var range: Range<String.Index>
    }

    /// The shared default tokenizer (English stop words, 64-byte limit).
    public static let standard = Tokenizer()

    /// Lucene's classic English stop set plus common pronouns and auxiliaries (57 words).
    public static let englishStopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with", "i", "me", "my", "we", "our", "you", "your", "he", "she", "him", "her", "his", "its",
        "them", "from", "has", "have", "had", "do", "does", "did", "so", "were", "been",
    ]

    /// Words never indexed nor searched.
    public var stopWords: Set<String>
    /// Longer tokens (in UTF-8 bytes) are dropped as noise (hashes, base64, URLs without separators).
    public var maxTokenLength: Int

    /// Creates a tokenizer.
    public init(stopWords: Set<String> = Tokenizer.englishStopWords, maxTokenLength: Int = 64) {
        self.stopWords = stopWords
        self.maxTokenLength = maxTokenLength
    }

    /// The terms of `text`, in order, duplicates kept.
    public func terms(_ text: String) -> [String] {
        var result: [String] = []
        if ASCII.isASCII(text) {
            asciiTerms(text) { result.append($0) }
        } else {
            for token in tokens(text) { result.append(token.term) }
        }
        return result
    }

    /// The tokens of `text` with their ranges in `text`.
    public func tokens(_ text: String) -> [Token] {
        var result: [Token] = []
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if Self.isIdeograph(scalar) {
                let next = scalars.index(after: index)
                appendToken(String(scalars[index..<next]).lowercased(), range: index..<next, to: &result)
                index = next
                continue
            }
            guard Self.isWordStart(scalar) else {
                index = scalars.index(after: index)
                continue
            }
            let start = index
            var end = scalars.index(after: index)
            var hasApostrophe = false
            while end < scalars.endIndex {
                let current = scalars[end]
                if Self.isIdeograph(current) { break }
                if Self.isWordPart(current) {
                    end = scalars.index(after: end)
                } else if Self.isApostrophe(current), Self.isLetter(scalars[scalars.index(before: end)]),
                    scalars.index(after: end) < scalars.endIndex,
                    Self.isLetter(scalars[scalars.index(after: end)])
                {
                    hasApostrophe = true
                    end = scalars.index(after: end)
                } else {
                    break
                }
            }
            var term = String(scalars[start..<end]).lowercased()
            if hasApostrophe { term = Self.stripApostrophes(term) }
            appendToken(term, range: start..<end, to: &result)
            index = end
        }
        return result
    }

    private func appendToken(_ raw: String, range: Range<String.Index>, to result: inout [Token]) {
        var term = raw
        if !ASCII.isASCII(term) { term = term.precomposedStringWithCanonicalMapping }
        guard !term.isEmpty, term.utf8.count <= maxTokenLength, !stopWords.contains(term) else { return }
        result.append(Token(term: term, range: range))
    }

    /// ASCII fast path (no allocation per byte, no Unicode tables); same rules as ``tokens(_:)``.
    private func asciiTerms(_ text: String, _ body: (String) -> Void) {
        ASCII.withUTF8(text) { bytes in asciiTokens(bytes) { term, _ in body(term) } }
    }

    /// The tokens of ASCII `bytes` with their byte ranges; same rules as ``tokens(_:)`` (which, on ASCII
    /// text, only ever sees letters, digits and `'`).
    func asciiTokens(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (String, Range<Int>) -> Void) {
        asciiWords(bytes) { word, hasApostrophe, range in
            if let term = term(ofASCIIWord: word, hasApostrophe: hasApostrophe) { body(term, range) }
        }
    }

    /// The term an ASCII word (from ``asciiWords(_:_:)``) stands for, or nil if it is not indexed (empty
    /// once its `'s` is gone, too long, a stop word).
    func term(ofASCIIWord word: UnsafeBufferPointer<UInt8>, hasApostrophe: Bool) -> String? {
        var term = String(decoding: word, as: UTF8.self)
        if hasApostrophe { term = Self.stripApostrophes(term) }
        guard !term.isEmpty, term.utf8.count <= maxTokenLength, !stopWords.contains(term) else { return nil }
        return term
    }

    /// The words of ASCII `bytes`, lowercased, before the term rules (apostrophes, length, stop words):
    /// each as a buffer valid during the call, whether it has an inner `'`, and its byte range. Lets a
    /// caller that looks for a few known terms compare bytes instead of making a `String` per word.
    func asciiWords(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Bool, Range<Int>) -> Void) {
        // A word is never longer than the text: one scratch buffer, on the stack up to 1 KiB (a longer text
        // takes one heap buffer).
        if bytes.count > 1024 {
            var scratch = [UInt8](repeating: 0, count: bytes.count)
            scratch.withUnsafeMutableBufferPointer { asciiWords(bytes, scratch: $0, body) }
        } else {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { asciiWords(bytes, scratch: $0, body) }
        }
    }

    private func asciiWords(
        _ bytes: UnsafeBufferPointer<UInt8>, scratch word: UnsafeMutableBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>, Bool, Range<Int>) -> Void
    ) {
        for (range, hasApostrophe) in ASCIIWordRanges(bytes) {
            for (offset, byte) in bytes[range].enumerated() { word[offset] = ASCII.lowercased(byte) }
            body(UnsafeBufferPointer(rebasing: word[0..<range.count]), hasApostrophe, range)
        }
    }

    private static func stripApostrophes(_ term: String) -> String {
        var term = term
        for suffix in ["'s", "’s"] where term.hasSuffix(suffix) {
            term.removeLast(2)
        }
        term.removeAll { $0 == "'" || $0 == "’" }
        return term
    }

    private static func isApostrophe(_ scalar: Unicode.Scalar) -> Bool { scalar == "'" || scalar == "\u{2019}" }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return ASCII.isLetter(UInt8(scalar.value)) }
        return switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    private static func isWordStart(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return ASCII.isAlphanumeric(UInt8(scalar.value)) }
        return isLetter(scalar) || scalar.properties.generalCategory == .decimalNumber
    }

    private static func isWordPart(_ scalar: Unicode.Scalar) -> Bool {
        if isWordStart(scalar) { return true }
        if scalar.isASCII { return false }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    private static func isIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x3000 { return false }
        if scalar.properties.isIdeographic { return true }
        return (0x3040...0x30FF).contains(scalar.value)  // Hiragana and Katakana
    }
}

/// Where the words of ASCII bytes are (as ``Tokenizer/asciiWords(_:_:)`` finds them), and whether each has an
/// inner `'`, without copying them: a caller that skips most words need not lowercase them. An iterator, not
/// a callback: the caller's loop keeps its state in locals (a closure capturing them checks each access).
struct ASCIIWordRanges: Sequence, IteratorProtocol {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func next() -> (range: Range<Int>, hasApostrophe: Bool)? {
        while index < bytes.count, !ASCII.isAlphanumeric(bytes[index]) { index += 1 }
        guard index < bytes.count else { return nil }
        let start = index
        var hasApostrophe = false
        while index < bytes.count {
            let byte = bytes[index]
            if ASCII.isAlphanumeric(byte) {
                // part of the word
            } else if byte == UInt8(ascii: "'"), ASCII.isLetter(bytes[index - 1]), index + 1 < bytes.count,
                ASCII.isLetter(bytes[index + 1])
            {
                hasApostrophe = true
            } else {
                break
            }
            index += 1
        }
        return (start..<index, hasApostrophe)
    }
}

/// Byte classes of ASCII text, without Unicode tables.
enum ASCII {
    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    static func isAlphanumeric(_ byte: UInt8) -> Bool { isLetter(byte) || (byte >= 0x30 && byte <= 0x39) }
    static func lowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
    /// Unicode `White_Space` within ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
    /// A byte JSON must escape in a string: a control character, `"` or `\`.
    static func needsJSONEscape(_ byte: UInt8) -> Bool { byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") }
    static func isASCII(_ text: String) -> Bool {
        withUTF8(text, isASCII)
    }

    /// `text`'s UTF-8 in place when it is contiguous (native and small strings: no copy of the string, so no
    /// reference count), else in a native copy.
    static func withUTF8<Result>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return copy.withUTF8(body)
    }

    /// Whether every byte is below 0x80, eight at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }
}
