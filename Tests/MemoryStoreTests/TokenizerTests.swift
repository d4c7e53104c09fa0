import Testing

@testable import MemoryStore

@Suite("Tokenizer")
struct TokenizerTests {
    let tokenizer = Tokenizer.standard

    @Test func splitsOnNonAlphanumericsAndLowercases() {
        #expect(tokenizer.terms("User prefers Dark-Roast coffee, 2x/day! (ID_42)") == [
            "user", "prefers", "dark", "roast", "coffee", "2x", "day", "id", "42",
        ])
    }

    @Test func dropsStopWords() {
        #expect(tokenizer.terms("The user is in the office and it was not on time") == ["user", "office", "time"])
        #expect(Tokenizer(stopWords: []).terms("the user") == ["the", "user"])
    }

    @Test func handlesUnicodeLettersDigitsAndAccents() {
        #expect(tokenizer.terms("Zoë moved to Zürich — São Paulo next; ΣΟΦΊΑ и Москва ٣٤") == [
            "zoë", "moved", "zürich", "são", "paulo", "next", "σοφία", "и", "москва", "٣٤",
        ])
        // Decomposed and precomposed accents give the same term.
        #expect(tokenizer.terms("cafe\u{301}") == ["café"])
        #expect(tokenizer.terms("CAFÉ") == tokenizer.terms("cafe\u{301}"))
        // Emoji and symbols separate words.
        #expect(tokenizer.terms("coffee☕️tea🍵") == ["coffee", "tea"])
    }

    @Test func ideographsAreSingleTokens() {
        #expect(tokenizer.terms("東京で寿司を食べた") == ["東", "京", "で", "寿", "司", "を", "食", "べ", "た"])
        #expect(tokenizer.terms("Tokyo東京2024") == ["tokyo", "東", "京", "2024"])
    }

    @Test func apostrophes() {
        #expect(tokenizer.terms("User's sister's cat") == ["user", "sister", "cat"])
        #expect(tokenizer.terms("don't can’t 'quoted'") == ["dont", "cant", "quoted"])
    }

    @Test func longTokensAreDropped() {
        #expect(tokenizer.terms(String(repeating: "a", count: 65) + " ok") == ["ok"])
    }

    @Test func asciiFastPathAgreesWithTheUnicodePath() {
        let samples = [
            "Project Atlas: migration to Postgres 16 scheduled for March.",
            "User's timezone is Europe/Lisbon; don't schedule before 10:00",
            "a-b_c d'e 'f' g'' ''h",
        ]
        for text in samples {
            #expect(tokenizer.terms(text) == tokenizer.tokens(text).map(\.term), "\(text)")
        }
    }

    @Test func tokenRangesPointIntoTheOriginalText() {
        let text = "Hi Zoë, CAFÉ time"
        let tokens = tokenizer.tokens(text)
        #expect(tokens.map { String(text[$0.range]) } == ["Hi", "Zoë", "CAFÉ", "time"])
        #expect(tokens.map(\.term) == ["hi", "zoë", "café", "time"])
    }
}
