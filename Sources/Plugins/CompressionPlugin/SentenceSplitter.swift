/// Splits a message's text into sentences, the unit the compressor keeps or drops.
///
/// Rules, in order:
/// - A line break (`\n`, `\r`, U+2028, U+2029) always ends a sentence: list items, headings and paragraphs
///   stay separate.
/// - A run of terminators (`.` `!` `?` `…` and the full-width `。` `！` `？`), followed by any closing quotes or
///   brackets, ends a sentence when whitespace or the end of the text follows it (`3.14` and `example.com`
///   stay whole). The full-width terminators end a sentence even without whitespace, as CJK text has none.
/// - A single `.` after a known abbreviation (`Mr.`, `Dr.`, `e.g.`, `i.e.`, `vs.`, … see ``abbreviations``)
///   or after a single capital letter (an initial, `J. Smith`) does not end a sentence.
/// - Sentences are trimmed of surrounding whitespace; empty ones are skipped.
///
/// ```swift
/// SentenceSplitter.split("Hi Dr. Lee! Is 3.5 ok?\n- yes")  // ["Hi Dr. Lee!", "Is 3.5 ok?", "- yes"]
/// ```
public enum SentenceSplitter {
    /// Lower-cased words after which a single `.` is not a sentence end.
    public static let abbreviations: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf", "approx", "fig", "no", "vol",
        "p", "pp", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    ]

    /// The sentences of `text`, in order.
    public static func split(_ text: String) -> [String] {
        var result: [String] = []
        let scalars = text.unicodeScalars
        let end = scalars.endIndex
        var start = scalars.startIndex
        var index = start

        func flush(_ range: Range<String.UnicodeScalarView.Index>) {
            guard !range.isEmpty else { return }
            let trimmed = trim(scalars[range])
            if !trimmed.isEmpty { result.append(String(trimmed)) }
        }

        while index < end {
            let scalar = scalars[index]
            if isLineBreak(scalar) {
                flush(start..<index)
                index = scalars.index(after: index)
                start = index
                continue
            }
            guard isTerminator(scalar) else {
                index = scalars.index(after: index)
                continue
            }
            var next = scalars.index(after: index)
            var runLength = 1
            while next < end, isTerminator(scalars[next]) {
                next = scalars.index(after: next)
                runLength += 1
            }
            while next < end, isCloser(scalars[next]) { next = scalars.index(after: next) }
            let atBoundary = next == end || isWhitespace(scalars[next]) || isFullWidthTerminator(scalar)
            if atBoundary, !(runLength == 1 && scalar == "." && isAbbreviation(before: index, in: scalars, from: start)) {
                flush(start..<next)
                start = next
            }
            index = next
        }
        flush(start..<end)
        return result
    }

    private static func trim(_ slice: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var slice = slice
        while let first = slice.first, isWhitespace(first) { slice.removeFirst() }
        while let last = slice.last, isWhitespace(last) { slice.removeLast() }
        return slice
    }

    /// Unicode `White_Space`; in ASCII (most text) without the property tables: tab through carriage return,
    /// and space.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? scalar == " " || (0x09...0x0D).contains(scalar.value) : scalar.properties.isWhitespace
    }

    /// Unicode `Alphabetic`; in ASCII (most text) without the property tables: A–Z and a–z.
    static func isAlphabetic(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) : scalar.properties.isAlphabetic
    }

    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0D, 0x2028, 0x2029: true
        default: false
        }
    }

    private static func isTerminator(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case ".", "!", "?", "\u{2026}": true
        default: isFullWidthTerminator(scalar)
        }
    }

    private static func isFullWidthTerminator(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\u{3002}", "\u{FF01}", "\u{FF1F}": true
        default: false
        }
    }

    private static func isCloser(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\"", "'", ")", "]", "}", "\u{201D}", "\u{2019}", "\u{00BB}", "\u{300D}", "\u{300F}": true
        default: false
        }
    }

    /// Whether the word just before the `.` at `dot` (letters and inner dots) is an abbreviation or an initial.
    private static func isAbbreviation(
        before dot: String.UnicodeScalarView.Index, in scalars: String.UnicodeScalarView,
        from start: String.UnicodeScalarView.Index
    ) -> Bool {
        var wordStart = dot
        while wordStart > start {
            let previous = scalars.index(before: wordStart)
            let scalar = scalars[previous]
            guard isAlphabetic(scalar) || scalar == "." else { break }
            wordStart = previous
        }
        let word = String(scalars[wordStart..<dot])
        guard !word.isEmpty else { return false }
        if word.unicodeScalars.count == 1, let only = word.unicodeScalars.first, only.properties.isUppercase {
            return true
        }
        return abbreviations.contains(word.lowercased())
    }
}
