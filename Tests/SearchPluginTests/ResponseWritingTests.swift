import Foundation
import RouterCore
import Testing

@testable import SearchPlugin

/// The search response writes its own JSON; it must be the text its `Encodable` conformance gives.
@Suite struct ResponseWritingTests {
    typealias Response = MemorySearchHandler.Response
    typealias Result = MemorySearchHandler.Result

    /// Texts that exercise escaping and UTF-8: quotes, backslashes, control characters, accents, CJK, emoji.
    static let texts = [
        "", "plain words", "quote \" and back\\slash", "tab\tnew\nline\r\u{1}\u{1F}", "café crème", "東京の天気",
        "family 👨‍👩‍👧 emoji", String(repeating: "long ", count: 300),
    ]

    private func random<G: RandomNumberGenerator>(_ generator: inout G) -> Result {
        func text() -> String { Self.texts.randomElement(using: &generator)! }
        let scores: [Double] = [0, 1, -1, 0.1, 1.0 / 3, 12.75, 1e-7, 3e21, 9_007_199_254_740_992]
        return Result(
            id: text(), text: text(), score: scores.randomElement(using: &generator)! * Double.random(in: 0.5...2, using: &generator),
            tags: (0..<Int.random(in: 0...3, using: &generator)).map { _ in text() }, createdAt: "2024-03-01T09:00:00.250Z",
            highlights: (0..<Int.random(in: 0...3, using: &generator)).map { _ in text() })
    }

    @Test func theWrittenTextIsTheEncodableText() throws {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 10, 25] {
            for _ in 0..<20 {
                let response = Response(results: (0..<count).map { _ in random(&generator) }, total: Int.random(in: 0...1_000_000))
                let written = try #require(JSONMembersWriter.writtenText(of: response))
                #expect(written == (try JSONMembersWriter.codableText(of: response)))
            }
        }
    }

    @Test func aNonFiniteScoreFallsBackToEncodableAndItsError() throws {
        let response = Response(
            results: [Result(id: "m1", text: "t", score: .nan, tags: [], createdAt: "2024-03-01T09:00:00.000Z", highlights: [])],
            total: 1)
        #expect(JSONMembersWriter.writtenText(of: response) == nil)
        #expect(throws: EncodingError.self) { try JSONMembersWriter.codableText(of: response) }
    }
}
