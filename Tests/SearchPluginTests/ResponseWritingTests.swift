import Foundation
import MemoryStore
import RouterCore
import RouterTesting
import Synchronization
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

    /// A search's own response (ranked documents written straight from the store) writes the text its
    /// results encode to, on texts that need escaping, with accents, CJK and emoji, several snippets each.
    @Test func aSearchResponseWritesWhatItsResultsEncode() async throws {
        let store = MemoryStore.inMemory()
        let texts = Self.texts.filter { !$0.isEmpty } + [
            "project \"Atlas\" and the project\\path" + String(repeating: " filler", count: 20) + " the café project again",
            "café project 東京の天気 project 👨‍👩‍👧 project", "tab\tproject\nline",
        ]
        try store.upsert(
            texts.enumerated().map { index, text in
                MemoryEntry(
                    // Ids and tags with and without bytes to escape: results written from the store's JSON of them,
                    // and from the entry.
                    id: index % 3 == 0 ? "m\"\(index)" : "m\(index)", text: text + " project",
                    tags: index % 2 == 0 ? (index % 4 == 0 ? ["a\\b", "東京"] : ["東京", "x"]) : [],
                    createdAt: Date(timeIntervalSince1970: 1_700_000_000.123 + Double(index) * 86_400))
            })
        let capture = ResponseCapture()
        let events = await OperationHarness(capture, clock: ManualClock(), services: services(store))
            .run(.init(query: "project café", limit: 20))
        let response = try #require(capture.response)
        #expect(resultIDs(events) == response.results.map(\.id), "the complete event carries the results")
        #expect(response.results.count == texts.count)
        #expect(response.results.contains { $0.highlights.count > 1 })
        let written = try #require(JSONMembersWriter.writtenText(of: response))
        #expect(written == (try JSONMembersWriter.codableText(of: response)))
        // The same response once its results were made: the same text, and equal.
        let materialized = Response(results: response.results, total: response.total)
        #expect(JSONMembersWriter.writtenText(of: materialized) == written)
        #expect(materialized == response)
    }

    /// A BM25 or cosine score (a `Float` widened) is written with the `Float`'s shortest digits, an RRF
    /// score (a `Double`) with the `Double`'s: the same text from the written and the encoded response.
    @Test func aFloatScoreIsWrittenWithAFloatsDigits() throws {
        func scoreText(_ score: Double) throws -> String {
            let response = Response(
                results: [Result(id: "m1", text: "t", score: score, tags: [], createdAt: "2024-03-01T09:00:00.000Z", highlights: [])],
                total: 1)
            let written = try #require(JSONMembersWriter.writtenText(of: response))
            #expect(written == (try JSONMembersWriter.codableText(of: response)))
            let start = try #require(written.range(of: #""score":"#)).upperBound
            return String(written[start...].prefix { $0 != "," })
        }
        let bm25 = Float(1.5990166)
        #expect(try scoreText(Double(bm25)) == "\(bm25)")
        #expect("\(bm25)".count < "\(Double(bm25))".count)
        #expect(try scoreText(Double(Float(0.1))) == "0.1")
        #expect(try scoreText(Double(Float(3))) == "3")
        let rrf = 1 / 61.0 + 1 / 62.0
        #expect(Float(exactly: rrf) == nil)
        #expect(try scoreText(rrf) == "\(rrf)")
    }

    @Test func aNonFiniteScoreFallsBackToEncodableAndItsError() throws {
        let response = Response(
            results: [Result(id: "m1", text: "t", score: .nan, tags: [], createdAt: "2024-03-01T09:00:00.000Z", highlights: [])],
            total: 1)
        #expect(JSONMembersWriter.writtenText(of: response) == nil)
        #expect(throws: EncodingError.self) { try JSONMembersWriter.codableText(of: response) }
    }
}

/// `memory_search` as it runs, keeping the response it returned.
final class ResponseCapture: OperationHandler {
    typealias Request = MemorySearchHandler.Request
    typealias Response = MemorySearchHandler.Response
    static var messageType: String { MemorySearchHandler.messageType }
    static var eventPrefix: String { MemorySearchHandler.eventPrefix }
    static var timeout: Duration { MemorySearchHandler.timeout }
    static var stages: [ProgressStage] { MemorySearchHandler.stages }

    private let kept = Mutex<Response?>(nil)
    var response: Response? { kept.withLock { $0 } }

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let response = try await MemorySearchHandler().handle(request, context: context)
        kept.withLock { $0 = response }
        return response
    }
}
