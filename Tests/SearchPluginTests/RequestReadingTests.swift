import Foundation
import RouterCore
import Testing

@testable import SearchPlugin

/// The search request reads its common shape itself; whatever it reads must be what `Decodable` decodes,
/// and anything else must be left to `Decodable` (which reports the error: `validationErrorsNameThePath`).
@Suite struct RequestReadingTests {
    typealias Request = MemorySearchHandler.Request

    /// Read by the fast path.
    static let common = [
        #"{"query":"coffee"}"#, #"{"query":"coffee","limit":10}"#, #"{"limit":1,"query":""}"#,
        #"{"query":"café \"quoted\" 東京","limit":1e3}"#, #"{"query":"x","limit":-5}"#,
    ]
    /// Left to `Decodable`: other members, wrong types, fractions, out of range.
    static let others = [
        #"{"query":"coffee","tags":["a"]}"#, #"{"query":"coffee","limit":null}"#, #"{"query":"c","since":"2024-01-01"}"#,
        #"{"query":"c","embedding":[1,2]}"#, #"{"query":"c","limit":2.5}"#, #"{"query":"c","limit":"10"}"#,
        #"{"query":"c","limit":1e300}"#, #"{"query":7}"#, #"{"limit":3}"#, #"{}"#, #"[]"#, #""coffee""#,
        #"{"query":"c","extra":true}"#, #"{"query":"c","limit":3,"tags":null}"#,
    ]

    /// The data both ways the router hands it over: an object as its members (as a message's `data` is
    /// parsed), and as a ``JSONValue``.
    private static func bothForms(_ json: String) throws -> [RequestData] {
        [try RequestData(parsing: Array(json.utf8)), .value(try JSONValue(jsonText: json))]
    }

    @Test(arguments: common)
    func theCommonShapeIsReadAsDecodableDecodesIt(json: String) throws {
        let decoded = try JSONValue(jsonText: json).decodedThroughDecodable(Request.self)
        for data in try Self.bothForms(json) {
            let read = try #require(Request(data: data))
            #expect(read == decoded)
        }
    }

    @Test(arguments: others)
    func everyOtherShapeIsLeftToDecodable(json: String) throws {
        for data in try Self.bothForms(json) {
            #expect(Request(data: data) == nil, "\(data)")
        }
    }

    /// A repeated key (its last value wins) is read as `Decodable` reads it, or left to it.
    @Test(arguments: [#"{"query":"a","query":"b"}"#, #"{"query":"a","limit":2,"limit":3}"#, #"{"limit":2,"query":"a","query":"b"}"#])
    func aRepeatedKeyIsReadAsDecodableReadsItOrLeftToIt(json: String) throws {
        let decoded = try JSONValue(jsonText: json).decodedThroughDecodable(Request.self)
        for data in try Self.bothForms(json) {
            if let read = Request(data: data) { #expect(read == decoded, "\(data)") }
        }
    }
}

/// The query's "must not be empty" check reads ASCII bytes directly; it must agree with `Character.isWhitespace`.
@Suite struct QueryWhitespaceTests {
    @Test(arguments: [
        "", " ", "\t\n\r\u{0B}\u{0C} ", "\r\n", "a", "  x  ", "\u{1C}", "\u{A0}", "\u{2003}\u{3000}", " \u{301}", "é",
        "  東京", "\u{85}", "😀", "\u{200B}",
    ])
    func asciiAndUnicodeWhitespaceAgreeWithCharacter(text: String) {
        #expect(
            MemorySearchHandler.Parameters.containsNonWhitespace(text) == text.contains { !$0.isWhitespace },
            "\(Array(text.unicodeScalars.map(\.value)))")
    }
}
