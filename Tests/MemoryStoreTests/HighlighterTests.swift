import Testing

@testable import MemoryStore

/// The ASCII byte paths of ``Tokenizer`` and ``Highlighter`` must give exactly what the Unicode paths give.
@Suite("Highlighter")
struct HighlighterTests {
    func highlighter(_ queryTerms: [String], context: Int = 40) -> Highlighter {
        Highlighter(tokenizer: .standard, terms: queryTerms.flatMap { Tokenizer.standard.terms($0) }, maxSnippets: 3, context: context)
    }

    /// Random ASCII text made of words, digits, apostrophes, punctuation and every ASCII whitespace,
    /// `\r\n` included (the one multi-byte `Character` in ASCII).
    static func randomASCIIText(_ generator: inout some RandomNumberGenerator) -> String {
        let words = ["user", "User's", "don't", "project", "Atlas", "o'clock", "42", "x2", "the", "a", "PROJECT", "id_7"]
        let separators = [" ", "  ", "\t", "\n", "\r\n", "\r", "\u{0B}", "\u{0C}", ", ", " - ", "'", "(", ")", ".", "\r\n\r\n", ""]
        var text = ""
        for _ in 0..<Int.random(in: 1...60, using: &generator) {
            text += words.randomElement(using: &generator)!
            text += separators.randomElement(using: &generator)!
        }
        return text
    }

    /// A long query (its terms hashed) and a short one (compared one by one) highlight the same: terms that
    /// do not occur in a text change nothing, on the ASCII, apostrophe and Unicode paths, repeats included.
    @Test func aLongQueryHighlightsAsItsTermsThatOccur() {
        let absent = ["zebra", "quartz", "fjord", "glyph", "nymph", "vortex", "jinx", "klutz", "sphinx", "wyvern"]
        let texts = [
            "Project Atlas: the user's migration to Postgres, don't wait.", "Café au lait in 東京 with the user's project.",
            String(repeating: "project notes and user's o'clock reminders ", count: 8),
        ]
        for present in [["project"], ["user"], ["project", "user", "project"], ["東京", "café"]] {
            let short = highlighter(present)
            let long = highlighter(absent + present + absent)
            for text in texts {
                #expect(long.snippets(text) == short.snippets(text), "\(present) in \(text)")
            }
        }
        #expect(!highlighter(absent + ["user"]).snippets(texts[0]).isEmpty, "the apostrophe word matches")
        // Text without `'`, scanned eight bytes at a time for the terms' first bytes: past eight distinct first
        // bytes (eleven here) nothing is skipped, and every term is still found.
        let plain = "Notes on the Atlas project: migration to Postgres, then the project review with the user."
        for present in [["project"], ["user"], ["project", "postgres"], ["review", "atlas"]] {
            let snippets = highlighter(present).snippets(plain)
            #expect(!snippets.isEmpty, "\(present)")
            #expect(highlighter(absent + present + absent).snippets(plain) == snippets, "\(present)")
        }
    }

    @Test func asciiTokensMatchTheUnicodeTokenizer() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let text = Self.randomASCIIText(&generator)
            var ascii: [String] = []
            var copy = text
            copy.withUTF8 { bytes in Tokenizer.standard.asciiTokens(bytes) { term, _ in ascii.append(term) } }
            #expect(ascii == Tokenizer.standard.tokens(text).map(\.term), "\(text.debugDescription)")
        }
    }

    @Test func asciiSnippetsMatchTheCharacterPath() {
        var generator = SplitMix64(seed: 11)
        for round in 0..<3_000 {
            let text = Self.randomASCIIText(&generator)
            let query = [["user", "project"], ["Atlas", "42", "dont"], ["user's", "o'clock", "the"]][round % 3]
            let context = [0, 1, 3, 10, 40][round % 5]
            let highlighter = highlighter(query, context: context)
            var copy = text
            let fast = copy.withUTF8 { highlighter.asciiSnippets($0) }
            let slow = highlighter.unicodeSnippets(text)
            #expect(fast == slow, "\(text.debugDescription) context \(context)")
        }
    }

    /// The snippets handed over as bytes are those ``Highlighter/snippets(_:)`` returns, on ASCII text (written
    /// into one scratch buffer) and on text with accents, CJK and emoji (the `Character` path).
    @Test func forEachSnippetHandsOverTheSnippets() {
        var generator = SplitMix64(seed: 17)
        let unicode = ["café", "東京の天気", "emoji 👨‍👩‍👧 user", "Ünïcode project", "naïve user's"]
        for round in 0..<2_000 {
            var text = Self.randomASCIIText(&generator)
            if round % 2 == 1 { text += " " + unicode[round / 2 % unicode.count] + " " + Self.randomASCIIText(&generator) }
            let highlighter = highlighter([["user", "project"], ["Atlas", "42", "café"], ["東京の天気", "o'clock"]][round % 3], context: [0, 3, 40][round % 3])
            var handed: [String] = []
            highlighter.forEachSnippet(of: text) { handed.append(String(decoding: $0, as: UTF8.self)) }
            #expect(handed == highlighter.snippets(text), "\(text.debugDescription)")
        }
        var none: [String] = []
        highlighter([]).forEachSnippet(of: "user project") { none.append(String(decoding: $0, as: UTF8.self)) }
        #expect(none.isEmpty)
    }

    /// Random text of ASCII and scalars up to U+024F: accented and other Latin letters (cased, uncased,
    /// titlecase `ǅ`), Latin-1 separators (`×`, `¿`, `©`, a soft hyphen), Unicode whitespace (NBSP, NEL) and
    /// `\r\n`, so that words, windows and whitespace runs meet every kind of character.
    static func randomLatinText(_ generator: inout some RandomNumberGenerator) -> String {
        let words = [
            "Zürich", "São", "Paulo", "Tomás's", "MONTRÉAL", "naïve", "ǅemal", "straße", "ÆON", "œuvre", "ª", "µ",
            "Ōsaka", "user", "project", "don't", "42", "Ÿ", "Čapek", "x²",
        ]
        let separators = [
            " ", "  ", "\u{A0}", "\u{85}", "\t", "\r\n", "\r", ", ", " × ", "¿", "©", "\u{AD}", "'", "-", "\u{A0}\u{A0}", "",
        ]
        var text = ""
        for _ in 0..<Int.random(in: 1...50, using: &generator) {
            text += words.randomElement(using: &generator)!
            text += separators.randomElement(using: &generator)!
        }
        return text
    }

    /// Text of scalars below U+0250 takes a byte path of its own (``LatinText``): the same snippets as the
    /// `Character` path, for terms with accents, upper case in the text, apostrophes and `'s`.
    @Test func latinSnippetsMatchTheCharacterPath() throws {
        var generator = SplitMix64(seed: 23)
        let queries = [["zürich", "project"], ["são", "tomás"], ["montréal", "ǆemal", "STRASSE"], ["æon", "œuvre", "dont"], ["čapek", "user"]]
        var latin = 0
        var highlighted = 0
        for round in 0..<4_000 {
            let text = Self.randomLatinText(&generator)
            let highlighter = highlighter(queries[round % queries.count], context: [0, 1, 3, 10, 40][round % 5])
            var copy = text
            guard let fast = copy.withUTF8({ LatinText.qualifies($0) ? highlighter.latinSnippets($0) : nil }) else { continue }
            latin += 1
            if !fast.isEmpty { highlighted += 1 }
            #expect(fast == highlighter.unicodeSnippets(text), "\(text.debugDescription)")
            var handed: [String] = []
            highlighter.forEachSnippet(of: text) { handed.append(String(decoding: $0, as: UTF8.self)) }
            #expect(handed == fast)
        }
        #expect(latin == 4_000, "every text of the generator takes the Latin path")
        #expect(highlighted > 2_000, "most texts have a query term: \(highlighted)")
    }

    /// Given the text's traits (as the index keeps them), the highlighter skips its scans for them and hands
    /// over the same snippets: ASCII text with and without `\r` and `'`, Latin and other Unicode text.
    @Test func theTextsTraitsChangeNoSnippet() {
        var generator = SplitMix64(seed: 29)
        let unicode = ["café", "東京の天気", "emoji 👨‍👩‍👧 user", "naïve user's"]
        for round in 0..<3_000 {
            let text: String =
                switch round % 3 {
                case 0: Self.randomASCIIText(&generator)
                case 1: Self.randomLatinText(&generator)
                default: Self.randomASCIIText(&generator) + " " + unicode[round / 3 % unicode.count]
                }
            let highlighter = highlighter([["user", "project"], ["zürich", "dont", "42"], ["café", "o'clock"]][round % 3], context: [0, 3, 40][round / 3 % 3])
            var scanned: [String] = []
            highlighter.forEachSnippet(of: text) { scanned.append(String(decoding: $0, as: UTF8.self)) }
            var given: [String] = []
            highlighter.forEachSnippet(of: text, traits: TextTraits(of: text)) { given.append(String(decoding: $0, as: UTF8.self)) }
            #expect(given == scanned, "\(text.debugDescription)")
        }
    }

    /// The table behind ``LatinText`` agrees with the standard library for every scalar it lets through, and
    /// text with a scalar it cannot handle takes the `Character` path.
    @Test func latinTextTakesOnlyWhatItCanHandle() {
        for value in 0x80..<LatinText.limit {
            let scalar = Unicode.Scalar(value)!
            let entry = LatinText.table[Int(value) - 0x80]
            guard entry.qualifies else { continue }
            #expect(String(scalar).lowercased() == String(Unicode.Scalar(UInt32(entry.lowercase))!), "U+\(String(value, radix: 16))")
            #expect(Character(scalar).isWhitespace == entry.isWhitespace)
            #expect(Character(scalar).isLetter == entry.isLetter)
        }
        func qualifies(_ text: String) -> Bool {
            var copy = text
            return copy.withUTF8 { LatinText.qualifies($0) }
        }
        #expect(qualifies("Zürich, São Paulo and ǅemal"))
        #expect(qualifies("plain ASCII"))
        #expect(!qualifies("İstanbul"), "İ lower-cases to two scalars")
        #expect(!qualifies("café\u{301}"), "a combining mark")
        #expect(!qualifies("user’s"), "the typographic apostrophe is past U+024F")
        #expect(!qualifies("東京"))
        #expect(!qualifies("emoji 😀"))
        #expect(!qualifies("ɐ"), "U+0250, the first scalar past the table")
    }

    /// Text without `'` takes the scan for the terms' first bytes: the same snippets, for terms that start
    /// with a letter or a digit, several terms sharing a first byte, and terms no ASCII word can be.
    @Test func theFirstByteScanMatchesTheCharacterPath() {
        var generator = SplitMix64(seed: 19)
        let queries = [["user"], ["project", "PROJECT", "pro"], ["42", "x2", "Atlas"], ["id", "7"], ["clock", "café", "a_b"], ["dont", "users"]]
        for round in 0..<4_000 {
            let text = String(Self.randomASCIIText(&generator).map { $0 == "'" ? " " : $0 })
            let highlighter = highlighter(queries[round % queries.count], context: [0, 1, 3, 10, 40][round % 5])
            var copy = text
            let fast = copy.withUTF8 { highlighter.asciiSnippets($0) }
            #expect(fast == highlighter.unicodeSnippets(text), "\(text.debugDescription)")
        }
    }

    /// Texts past 1 KiB take the tokenizer's heap scratch buffer instead of the stack one, and a word may
    /// be longer than 1 KiB.
    @Test func longTextsAndLongWordsMatchTooAndKeepAtMostThreeSnippets() {
        var generator = SplitMix64(seed: 13)
        for round in 0..<200 {
            var text = ""
            while text.utf8.count <= 1_100 { text += Self.randomASCIIText(&generator) + " " }
            if round % 4 == 0 { text += String(repeating: "Atlas", count: 300) + " project" }
            var ascii: [String] = []
            var copy = text
            copy.withUTF8 { bytes in Tokenizer.standard.asciiTokens(bytes) { term, _ in ascii.append(term) } }
            #expect(ascii == Tokenizer.standard.tokens(text).map(\.term))
            let highlighter = highlighter(["user", "project"], context: [0, 3, 40][round % 3])
            let fast = copy.withUTF8 { highlighter.asciiSnippets($0) }
            #expect(fast == highlighter.unicodeSnippets(text))
            #expect(fast.count <= 3)
        }
    }

    /// The ASCII check reads eight bytes at a time: a non-ASCII character anywhere, at any offset from a
    /// word, is found, and pure ASCII of any length passes.
    @Test func asciiCheckFindsANonASCIICharacterAtEveryOffset() {
        for length in 0..<40 {
            let ascii = String(repeating: "a", count: length)
            #expect(ASCII.isASCII(ascii))
            for position in 0...length {
                for other in ["é", "😀", "\u{80}", "\u{7FF}"] {
                    var text = ascii
                    text.insert(contentsOf: other, at: text.index(text.startIndex, offsetBy: position))
                    #expect(!ASCII.isASCII(text), "\(text.debugDescription)")
                }
            }
        }
        #expect(ASCII.isASCII("\u{7F}\u{00}\t plain"))
    }

    @Test func asciiSnippetsOnAKnownText() {
        let text = "The user asked about\r\nthe Atlas project   deadline; user wants it before Friday."
        #expect(highlighter(["user"], context: 10).snippets(text) == [
            "The user asked…", "…deadline; user wants it…",
        ])
    }

    @Test func nonASCIITextKeepsUnicodeBehaviour() {
        // Accents, CJK (one token per ideograph) and emoji (separators).
        #expect(highlighter(["zurich", "zürich"], context: 6).snippets("Zoë moved to Zürich ☕️ with São Paulo friends") == [
            "…to Zürich ☕️…"
        ])
        // Without spaces between CJK words, a window snaps to the match (word starts are after whitespace).
        #expect(highlighter(["会"], context: 1).snippets("東京で会議 user 会議") == ["…会議…", "…会議"])
        // Precomposed and decomposed accents both match.
        #expect(highlighter(["CAFÉ"], context: 2).snippets("café 🍵 cafe\u{301}") == ["café 🍵 cafe\u{301}"])
    }
}
