import Foundation

/// Builds the snippets of ``SearchSnapshot/highlights(for:queryTerms:maxSnippets:context:)``.
///
/// A snippet is the window of `context` characters on each side of a match, widened to whole words,
/// merged with the next window when they overlap, its whitespace runs collapsed to one space, with `…`
/// where it cuts the text. ASCII text (most memories) takes a byte path that gives exactly what the
/// `Character` path gives: in ASCII, the only multi-byte character is `\r\n`, which both count as one.
///
/// Made once per query (``SearchSnapshot/highlighter(queryTerms:maxSnippets:context:)``) and used for every
/// result: the query's terms are tokenized once, and on ASCII text a word is compared with them byte by
/// byte, without making a `String` of it. A class: passed around (and captured) for every result, it costs
/// one reference count, not one per term.
public final class Highlighter: Sendable {
    let tokenizer: Tokenizer
    /// The query's terms, as the tokenizer makes them, once each.
    let wanted: [String]
    /// The same terms hashed, for a long query (most have a few terms, compared one by one without hashing).
    private let wantedSet: Set<String>?
    /// The same terms as bytes, for the byte paths.
    private let wantedBytes: PackedTerms
    /// Bit `n` is set when a term is `n` bytes long (a term longer than 63 sets bit 63): most words have
    /// no term of their length, and are passed over without a look at the terms.
    private let wantedLengths: UInt64
    let maxSnippets: Int
    let context: Int

    /// The terms an ASCII word can equal (ASCII letters and digits only; no other term ever matches ASCII
    /// text), one after another, with where each ends, and their distinct first bytes: the match scan of
    /// text without `'` looks for those bytes eight at a time. Flat, so that the scan reads them in place
    /// (an array of arrays counts a reference to each term it reads).
    private let alphanumericTerms: PackedTerms
    private let firstBytes: FirstByteSet

    /// `terms`: normalized (the tokenizer's output).
    init(tokenizer: Tokenizer, terms: [String], maxSnippets: Int, context: Int) {
        self.tokenizer = tokenizer
        wanted = SearchSnapshot.deduplicated(terms)
        wantedSet = wanted.count > 8 ? Set(wanted) : nil
        wantedBytes = PackedTerms(wanted)
        var wantedLengths: UInt64 = 0
        for index in 0..<wantedBytes.count { wantedLengths |= Self.lengthBit(wantedBytes.range(of: index).count) }
        self.wantedLengths = wantedLengths
        // The same storage, not filtered into new arrays, when every term is alphanumeric (the usual query).
        let alphanumericTerms = wantedBytes.filter { !$0.isEmpty && $0.allSatisfy(ASCII.isAlphanumeric) }
        var firstBytes = FirstByteSet()
        for index in 0..<alphanumericTerms.count {
            firstBytes.insert(alphanumericTerms.bytes[alphanumericTerms.range(of: index).lowerBound])
        }
        self.alphanumericTerms = alphanumericTerms
        self.firstBytes = firstBytes
        self.maxSnippets = maxSnippets
        self.context = context
    }

    /// The snippets of `text` around the query's terms (none when the query has no terms).
    public func snippets(_ text: String) -> [String] {
        guard !wanted.isEmpty, maxSnippets > 0 else { return [] }
        return ASCII.withUTF8(text) { bytes in
            if ASCII.isASCII(bytes) { return asciiSnippets(bytes) }
            return LatinText.qualifies(bytes) ? latinSnippets(bytes) : nil
        } ?? unicodeSnippets(text)
    }

    /// Hands each snippet of `text` to `body` as UTF-8, in order, without making a `String` of it on ASCII
    /// text (a search writes its results' snippets straight into the response). The bytes are valid only
    /// during the call; they are exactly the UTF-8 of what ``snippets(_:)`` returns. `traits`, when given,
    /// must be the text's (``TextTraits/init(of:)``, kept by the index): it spares the scans for them.
    public func forEachSnippet(of text: String, traits: TextTraits? = nil, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard !wanted.isEmpty, maxSnippets > 0 else { return }
        let wasBytes = ASCII.withUTF8(text) { text -> Bool in
            // One scratch buffer for every snippet of the text (on the stack when the text is short): a
            // snippet is at most its window and two ellipses.
            if traits?.contains(.ascii) ?? ASCII.isASCII(text) {
                // Text JSON need not escape has no `\r` (else it is looked for).
                let hasCarriageReturn: Bool? = traits?.contains(.jsonPlain) == true ? false : nil
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: text.count + 6) { scratch in
                    forEachASCIIWindow(
                        text, hasCarriageReturn: hasCarriageReturn, hasApostrophe: traits.map { $0.contains(.apostrophe) }
                    ) { window in
                        let count = writeASCIISnippet(
                            text, window, into: scratch, singleSpaced: traits?.contains(.singleSpaced) ?? false)
                        body(UnsafeBufferPointer(rebasing: scratch[..<count]))
                    }
                }
                return true
            }
            guard LatinText.qualifies(text) else { return false }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: text.count + 6) { scratch in
                forEachLatinWindow(text) { window in
                    body(UnsafeBufferPointer(rebasing: scratch[..<writeLatinSnippet(text, window, into: scratch)]))
                }
            }
            return true
        }
        guard !wasBytes else { return }
        for snippet in unicodeSnippets(text) {
            var snippet = snippet
            snippet.withUTF8(body)
        }
    }

    // MARK: ASCII

    func asciiSnippets(_ text: UnsafeBufferPointer<UInt8>) -> [String] {
        var snippets: [String] = []
        forEachASCIIWindow(text) { window in
            snippets.append(String(unsafeUninitializedCapacity: window.count + 6) { writeASCIISnippet(text, window, into: $0) })
        }
        return snippets
    }

    /// Calls `body` with each snippet's window (up to `maxSnippets`), in text order. Whether the text has a
    /// `\r` or a `'` is looked for when not given.
    private func forEachASCIIWindow(
        _ text: UnsafeBufferPointer<UInt8>, hasCarriageReturn: Bool? = nil, hasApostrophe: Bool? = nil,
        _ body: (Range<Int>) -> Void
    ) {
        var windows = Windows(maxSnippets: maxSnippets)
        // Without `\r` (most text) a character is a byte, and a window's edges are found by arithmetic.
        let hasCarriageReturn = hasCarriageReturn ?? (text.baseAddress.map { memchr($0, 0x0D, text.count) != nil } ?? false)
        withScannedTerms { terms in
            var matches = ASCIIMatches(text, terms: terms, highlighter: self, hasApostrophe: hasApostrophe)
            while let range = matches.next() {
                let lower = asciiExpandBackward(text, from: range.lowerBound, by: context, hasCarriageReturn: hasCarriageReturn)
                let upper = asciiExpandForward(text, from: range.upperBound, by: context, hasCarriageReturn: hasCarriageReturn)
                guard windows.add(lower..<upper, body) else { return }
            }
            windows.finish(body)
        }
    }

    /// The alphanumeric terms, in place, for one text's scan (``PackedTerms`` read through pointers).
    private struct ScannedTerms {
        let bytes: UnsafeBufferPointer<UInt8>
        let ends: UnsafeBufferPointer<Int>
        let firstBytes: FirstByteSet

        var count: Int { ends.count }

        func term(_ index: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
        }
    }

    private func withScannedTerms(_ body: (ScannedTerms) -> Void) {
        alphanumericTerms.bytes.withUnsafeBufferPointer { bytes in
            alphanumericTerms.ends.withUnsafeBufferPointer { ends in
                body(ScannedTerms(bytes: bytes, ends: ends, firstBytes: firstBytes))
            }
        }
    }

    /// Match windows merged as they come: each becomes a snippet once the next one does not overlap it (no
    /// array of windows), up to `maxSnippets`.
    private struct Windows {
        let maxSnippets: Int
        private var window: Range<Int>?
        private var count = 0

        init(maxSnippets: Int) {
            self.maxSnippets = maxSnippets
        }

        /// Adds the window of the next match; false once `maxSnippets` windows went to `body`.
        mutating func add(_ next: Range<Int>, _ body: (Range<Int>) -> Void) -> Bool {
            if let current = window, next.lowerBound <= current.upperBound {
                window = current.lowerBound..<max(current.upperBound, next.upperBound)
                return true
            }
            if let current = window {
                body(current)
                count += 1
                if count == maxSnippets { return false }
            }
            window = next
            return true
        }

        /// Hands over the last window.
        func finish(_ body: (Range<Int>) -> Void) {
            if let window { body(window) }
        }
    }

    /// The query's terms in ASCII text, in order. Text without `'` (most) is scanned for the terms' first
    /// bytes, eight bytes at a time, and a term matches where it is a whole word (no letter or digit on
    /// either side): there a word is exactly a run of letters and digits. Text with `'` goes word by word,
    /// because `user's` is the term `user` and `don't` the term `dont`.
    private struct ASCIIMatches {
        private let text: UnsafeBufferPointer<UInt8>
        private let terms: ScannedTerms
        /// Used only within a call of the highlighter's own (which holds it): no reference counted.
        private unowned(unsafe) let highlighter: Highlighter
        private var words: ASCIIWordRanges?
        private var index = 0

        init(_ text: UnsafeBufferPointer<UInt8>, terms: ScannedTerms, highlighter: Highlighter, hasApostrophe: Bool? = nil) {
            self.text = text
            self.terms = terms
            self.highlighter = highlighter
            let hasApostrophe =
                hasApostrophe ?? (text.baseAddress.map { memchr($0, Int32(UInt8(ascii: "'")), text.count) != nil } ?? false)
            words = hasApostrophe ? ASCIIWordRanges(text) : nil
        }

        mutating func next() -> Range<Int>? {
            if words != nil {
                while let (range, hasApostrophe) = words!.next() {
                    if highlighter.isWanted(text, range, hasApostrophe: hasApostrophe) { return range }
                }
                return nil
            }
            let firstBytes = terms.firstBytes
            guard !firstBytes.isEmpty, let base = text.baseAddress else { return nil }
            let count = text.count
            while index < count {
                // Skip eight bytes none of which is a first byte in either case (`| 0x20` folds A–Z onto a–z;
                // it also folds a few other bytes onto digits, which the check below turns down).
                if index + 8 <= count {
                    let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) | 0x2020_2020_2020_2020
                    if !firstBytes.mayOccur(in: word) {
                        index += 8
                        continue
                    }
                }
                let start = index
                index += 1
                let first = ASCII.lowercased(base[start])
                guard firstBytes.contains(first), start == 0 || !ASCII.isAlphanumeric(base[start - 1]) else { continue }
                for termIndex in 0..<terms.count {
                    let term = terms.term(termIndex)
                    guard term[0] == first, start + term.count <= count else { continue }
                    let end = start + term.count
                    guard end == count || !ASCII.isAlphanumeric(base[end]) else { continue }
                    var offset = 1
                    while offset < term.count, term[offset] == ASCII.lowercased(base[start + offset]) { offset += 1 }
                    if offset == term.count {
                        index = end
                        return start..<end
                    }
                }
            }
            return nil
        }
    }

    /// Whether `term` (a tokenizer's term) is one of the query's.
    private func isWanted(_ term: String) -> Bool {
        wantedSet?.contains(term) ?? wanted.contains(term)
    }

    /// Whether the ASCII word at `range` is one of the query's terms. A word equal to a query term is that
    /// term (query terms are never stop words nor too long); a word with an apostrophe may become one once
    /// its `'s` is gone. Words are compared in place, ignoring case, and only with terms of their length:
    /// most words are none, and cost no copy.
    fileprivate func isWanted(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, hasApostrophe: Bool) -> Bool {
        if hasApostrophe {
            let word = text[range].map(ASCII.lowercased)
            return word.withUnsafeBufferPointer {
                tokenizer.term(ofASCIIWord: $0, hasApostrophe: true).map(isWanted) ?? false
            }
        }
        guard wantedLengths & Self.lengthBit(range.count) != 0 else { return false }
        return wantedBytes.contains(length: range.count) { term in
            var index = 0
            while index < term.count, term[index] == ASCII.lowercased(text[range.lowerBound + index]) { index += 1 }
            return index == term.count
        }
    }

    private static func lengthBit(_ length: Int) -> UInt64 { 1 << UInt64(min(length, 63)) }

    /// Writes the snippet of `window` into `snippet` (at least `window.count + 6` bytes: the window and two
    /// ellipses at most); returns its length.
    private func writeASCIISnippet(
        _ text: UnsafeBufferPointer<UInt8>, _ window: Range<Int>, into snippet: UnsafeMutableBufferPointer<UInt8>,
        singleSpaced: Bool = false
    ) -> Int {
        var count = 0
        if window.lowerBound > 0 { count = Self.writeEllipsis(into: snippet, at: 0) }
        if singleSpaced {
            // Nothing to collapse (a window starts and ends on a word): the window as it is.
            UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(snippet)[count..<count + window.count])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(text)[window]))
            count += window.count
            if window.upperBound < text.count { count = Self.writeEllipsis(into: snippet, at: count) }
            return count
        }
        let contentStart = count
        var pendingSpace = false
        var index = window.lowerBound
        while index < window.upperBound {
            let byte = text[index]
            index += 1
            if ASCII.isWhitespace(byte) {
                pendingSpace = true
                continue
            }
            if pendingSpace, count > contentStart {
                snippet[count] = 0x20
                count += 1
            }
            pendingSpace = false
            snippet[count] = byte
            count += 1
        }
        if window.upperBound < text.count { count = Self.writeEllipsis(into: snippet, at: count) }
        return count
    }

    /// Writes `…` (U+2026, three bytes in UTF-8) at `index`; returns the index after it.
    private static func writeEllipsis(into buffer: UnsafeMutableBufferPointer<UInt8>, at index: Int) -> Int {
        buffer[index] = 0xE2
        buffer[index + 1] = 0x80
        buffer[index + 2] = 0xA6
        return index + 3
    }

    /// One character back from `index` (`\r\n` is one character).
    private func asciiCharacterBefore(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        index >= 2 && text[index - 1] == 0x0A && text[index - 2] == 0x0D ? index - 2 : index - 1
    }

    /// One character on from `index` (`\r\n` is one character).
    private func asciiCharacterAfter(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        index + 1 < text.count && text[index] == 0x0D && text[index + 1] == 0x0A ? index + 2 : index + 1
    }

    private func asciiExpandBackward(_ text: UnsafeBufferPointer<UInt8>, from start: Int, by count: Int, hasCarriageReturn: Bool) -> Int {
        var index = start
        if hasCarriageReturn {
            for _ in 0..<count where index > 0 { index = asciiCharacterBefore(text, index) }
        } else {
            index = max(0, start - count)
        }
        if index == 0 { return index }
        while index < start, !ASCII.isWhitespace(text[index - 1]) { index = asciiCharacterAfter(text, index) }
        return index
    }

    private func asciiExpandForward(_ text: UnsafeBufferPointer<UInt8>, from end: Int, by count: Int, hasCarriageReturn: Bool) -> Int {
        var index = end
        if hasCarriageReturn {
            for _ in 0..<count where index < text.count { index = asciiCharacterAfter(text, index) }
        } else {
            index = min(text.count, end + count)
        }
        if index == text.count { return index }
        while index > end, !ASCII.isWhitespace(text[index]) { index = asciiCharacterBefore(text, index) }
        while index > end, ASCII.isWhitespace(text[index - 1]) { index = asciiCharacterBefore(text, index) }
        return index
    }

    // MARK: Latin (scalars below U+0250)

    /// ``LatinText`` text: one or two bytes per character, the tokenizer's classes from a table.
    func latinSnippets(_ text: UnsafeBufferPointer<UInt8>) -> [String] {
        var snippets: [String] = []
        forEachLatinWindow(text) { window in
            snippets.append(String(unsafeUninitializedCapacity: window.count + 6) { writeLatinSnippet(text, window, into: $0) })
        }
        return snippets
    }

    /// Calls `body` with each snippet's window (up to `maxSnippets`), in text order: the windows of
    /// ``unicodeSnippets(_:)``, in bytes.
    private func forEachLatinWindow(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        var windows = Windows(maxSnippets: maxSnippets)
        // A word's term is never longer than the word.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, text.count)) { term in
            var index = 0
            while index < text.count {
                let (value, length) = LatinText.scalar(at: index, in: text)
                guard LatinText.isWordPart(value) else {
                    index += length
                    continue
                }
                // The tokenizer's word: letters and digits, and `'` between two letters.
                let start = index
                var end = index + length
                var previous = value
                var hasApostrophe = false
                while end < text.count {
                    let (current, currentLength) = LatinText.scalar(at: end, in: text)
                    if LatinText.isWordPart(current) {
                        previous = current
                        end += currentLength
                    } else if current == 0x27, LatinText.isLetter(previous), end + 1 < text.count,
                        LatinText.isLetter(LatinText.scalar(at: end + 1, in: text).value)
                    {
                        hasApostrophe = true
                        previous = current
                        end += 1
                    } else {
                        break
                    }
                }
                index = end
                guard isWantedLatinWord(text, start..<end, hasApostrophe: hasApostrophe, scratch: term) else { continue }
                let window = latinExpandBackward(text, from: start, by: context)..<latinExpandForward(text, from: end, by: context)
                guard windows.add(window, body) else { return }
            }
            windows.finish(body)
        }
    }

    /// Whether the word at `range` is one of the query's terms: lower-cased into `scratch`, its apostrophes
    /// handled as the tokenizer does (a trailing `'s` dropped, the others removed), compared as bytes.
    private func isWantedLatinWord(
        _ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, hasApostrophe: Bool, scratch: UnsafeMutableBufferPointer<UInt8>
    ) -> Bool {
        var count = 0
        var index = range.lowerBound
        while index < range.upperBound {
            let (value, length) = LatinText.scalar(at: index, in: text)
            count = LatinText.appendLowercase(value, to: scratch, at: count)
            index += length
        }
        if hasApostrophe {
            if count >= 2, scratch[count - 2] == 0x27, scratch[count - 1] == UInt8(ascii: "s") { count -= 2 }
            var kept = 0
            for position in 0..<count where scratch[position] != 0x27 {
                scratch[kept] = scratch[position]
                kept += 1
            }
            count = kept
        }
        guard wantedLengths & Self.lengthBit(count) != 0 else { return false }
        return wantedBytes.contains(length: count) { memcmp($0.baseAddress!, scratch.baseAddress!, count) == 0 }
    }

    /// One character on from `index` (one or two bytes; `\r\n` is one character).
    private func latinCharacterAfter(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        if text[index] == 0x0D, index + 1 < text.count, text[index + 1] == 0x0A { return index + 2 }
        return index + (text[index] < 0x80 ? 1 : 2)
    }

    /// One character back from `index`.
    private func latinCharacterBefore(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        if index >= 2, text[index - 1] == 0x0A, text[index - 2] == 0x0D { return index - 2 }
        // The byte before a character boundary is ASCII or the second byte of a two-byte sequence.
        return index - (text[index - 1] < 0x80 ? 1 : 2)
    }

    /// Whether the character at `index` is whitespace (`\r\n` is: its `\r` is).
    private func latinIsWhitespace(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        LatinText.isWhitespace(LatinText.scalar(at: index, in: text).value)
    }

    private func latinExpandBackward(_ text: UnsafeBufferPointer<UInt8>, from start: Int, by count: Int) -> Int {
        var index = start
        for _ in 0..<count where index > 0 { index = latinCharacterBefore(text, index) }
        if index == 0 { return index }
        while index < start, !latinIsWhitespace(text, at: latinCharacterBefore(text, index)) {
            index = latinCharacterAfter(text, index)
        }
        return index
    }

    private func latinExpandForward(_ text: UnsafeBufferPointer<UInt8>, from end: Int, by count: Int) -> Int {
        var index = end
        for _ in 0..<count where index < text.count { index = latinCharacterAfter(text, index) }
        if index == text.count { return index }
        while index > end, !latinIsWhitespace(text, at: index) { index = latinCharacterBefore(text, index) }
        while index > end, latinIsWhitespace(text, at: latinCharacterBefore(text, index)) {
            index = latinCharacterBefore(text, index)
        }
        return index
    }

    /// Writes the snippet of `window` into `snippet` (at least `window.count + 6` bytes); returns its length.
    private func writeLatinSnippet(
        _ text: UnsafeBufferPointer<UInt8>, _ window: Range<Int>, into snippet: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        var count = 0
        if window.lowerBound > 0 { count = Self.writeEllipsis(into: snippet, at: 0) }
        let contentStart = count
        var pendingSpace = false
        var index = window.lowerBound
        while index < window.upperBound {
            let (value, length) = LatinText.scalar(at: index, in: text)
            if LatinText.isWhitespace(value) {
                pendingSpace = true
                index += length
                continue
            }
            if pendingSpace, count > contentStart {
                snippet[count] = 0x20
                count += 1
            }
            pendingSpace = false
            for offset in 0..<length { snippet[count + offset] = text[index + offset] }
            count += length
            index += length
        }
        if window.upperBound < text.count { count = Self.writeEllipsis(into: snippet, at: count) }
        return count
    }

    // MARK: Unicode

    func unicodeSnippets(_ text: String) -> [String] {
        let matches = tokenizer.tokens(text).filter { isWanted($0.term) }
        guard !matches.isEmpty else { return [] }

        // Windows around each match, merged when they overlap.
        var windows: [Range<String.Index>] = []
        for match in matches {
            let lower = expandBackward(text, from: match.range.lowerBound, by: context)
            let upper = expandForward(text, from: match.range.upperBound, by: context)
            if let last = windows.last, lower <= last.upperBound {
                windows[windows.count - 1] = last.lowerBound..<max(last.upperBound, upper)
            } else {
                windows.append(lower..<upper)
            }
        }
        return windows.prefix(maxSnippets).map { window in
            var snippet = text[window].split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            if window.lowerBound > text.startIndex { snippet = "…" + snippet }
            if window.upperBound < text.endIndex { snippet += "…" }
            return snippet
        }
    }

    /// Moves `count` characters back, then on to the start of the word it landed in (never past `start`).
    private func expandBackward(_ text: String, from start: String.Index, by count: Int) -> String.Index {
        var index = text.index(start, offsetBy: -count, limitedBy: text.startIndex) ?? text.startIndex
        if index == text.startIndex { return index }
        // Land on a word start: skip forward to just after the next whitespace.
        while index < start, !text[text.index(before: index)].isWhitespace {
            index = text.index(after: index)
        }
        return index
    }

    /// Moves `count` characters forward, then back to the end of the word it landed in (never before `end`).
    private func expandForward(_ text: String, from end: String.Index, by count: Int) -> String.Index {
        var index = text.index(end, offsetBy: count, limitedBy: text.endIndex) ?? text.endIndex
        if index == text.endIndex { return index }
        while index > end, !text[index].isWhitespace {
            index = text.index(before: index)
        }
        // Drop trailing punctuation-only tails such as " -" by trimming whitespace at the end.
        while index > end, text[text.index(before: index)].isWhitespace {
            index = text.index(before: index)
        }
        return index
    }
}

/// Terms as bytes, one after another, with where each ends: two arrays for any number of terms, where an
/// array per term would make one more each (a highlighter is made for every search that has results).
struct PackedTerms: Sendable {
    let bytes: [UInt8]
    /// Where each term ends in `bytes`; it starts where the one before ends (the first at 0).
    let ends: [Int]

    init(_ terms: [String]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(terms.reduce(0) { $0 + $1.utf8.count })
        var ends: [Int] = []
        ends.reserveCapacity(terms.count)
        for term in terms {
            bytes.append(contentsOf: term.utf8)
            ends.append(bytes.count)
        }
        self.init(bytes: bytes, ends: ends)
    }

    private init(bytes: [UInt8], ends: [Int]) {
        self.bytes = bytes
        self.ends = ends
    }

    var count: Int { ends.count }

    /// Where term `index` is in `bytes`.
    func range(of index: Int) -> Range<Int> {
        (index == 0 ? 0 : ends[index - 1])..<ends[index]
    }

    /// Whether a term of `length` bytes satisfies `predicate` (given its bytes in place).
    func contains(length: Int, where predicate: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        bytes.withUnsafeBufferPointer { bytes in
            (0..<count).contains { index in
                let range = range(of: index)
                return range.count == length && predicate(UnsafeBufferPointer(rebasing: bytes[range]))
            }
        }
    }

    /// The terms `isIncluded` accepts, in order: these very arrays when it accepts every one.
    func filter(_ isIncluded: (ArraySlice<UInt8>) -> Bool) -> PackedTerms {
        guard !(0..<count).allSatisfy({ isIncluded(self.bytes[range(of: $0)]) }) else { return self }
        var bytes: [UInt8] = []
        var ends: [Int] = []
        for index in 0..<count where isIncluded(self.bytes[range(of: index)]) {
            bytes.append(contentsOf: self.bytes[range(of: index)])
            ends.append(bytes.count)
        }
        return PackedTerms(bytes: bytes, ends: ends)
    }
}

/// The distinct first bytes of a query's terms, without an array: a set of 256 bits, and the first eight
/// packed in a word for the scan that skips eight bytes of text at a time (past eight, nothing is skipped).
struct FirstByteSet: Sendable {
    private var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var packed: UInt64 = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    func contains(_ byte: UInt8) -> Bool {
        let bit: UInt64 = 1 << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return bits.0 & bit != 0
        case 1: return bits.1 & bit != 0
        case 2: return bits.2 & bit != 0
        default: return bits.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        guard !contains(byte) else { return }
        let bit: UInt64 = 1 << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: bits.0 |= bit
        case 1: bits.1 |= bit
        case 2: bits.2 |= bit
        default: bits.3 |= bit
        }
        if count < 8 { packed |= UInt64(byte) << UInt64(8 * count) }
        count += 1
    }

    /// Whether one of the eight bytes of `word` may be in the set (always, past eight bytes in it).
    @inline(__always)
    func mayOccur(in word: UInt64) -> Bool {
        guard count <= 8 else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        for index in 0..<count {
            let value = word ^ (ones &* ((packed >> UInt64(8 * index)) & 0xFF))
            if (value &- ones) & ~value & 0x8080_8080_8080_8080 != 0 { return true }
        }
        return false
    }
}
