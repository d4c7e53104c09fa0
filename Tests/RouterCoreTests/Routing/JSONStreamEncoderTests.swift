import Foundation
import Testing

@testable import RouterCore

/// The one-pass encoder must write what the tree encoder gives, or hand the value back to it.
@Suite struct JSONStreamEncoderTests {
    typealias Hit = JSONValueEncoderTests.Hit
    typealias Inner = JSONValueEncoderTests.Inner

    /// The tree path's fields: what the session sent before the one-pass encoder.
    private func treeFields(_ value: some Encodable) throws -> [String: JSONValue] {
        try ResultEncoding.fields(of: value)
    }

    /// The one-pass text, parsed back; nil when it handed the value back.
    private func streamFields(_ value: some Encodable) throws -> [String: JSONValue]? {
        guard let text = try JSONStreamEncoder.encodeMembers(value) else { return nil }
        guard case .object(let members) = try JSONParser.parse(Array("{".utf8) + text + Array("}".utf8)) else {
            Issue.record("not an object: \(String(decoding: text, as: UTF8.self))")
            return nil
        }
        return members
    }

    static let hit = Hit(
        id: "mem-1", score: 0.25, tags: ["café", "😀", "quote\"back\\slash"],
        createdAt: Date(timeIntervalSince1970: 1_764_000_000), note: nil, mood: .busy, counts: ["a": 1, "b": 2],
        matrix: [[1, 2], [], [3]], blob: Data([0, 1, 254, 255]), link: URL(string: "https://example.com/a?b=c")!,
        nested: Inner(depth: 1, children: [Inner(depth: 2, children: [])]), flags: [3], big: 1 << 40, small: 255,
        ratio: 0.5)

    struct Response: Encodable {
        var results: [Hit]
        var total: Int
        var empty: [Inner] = []
        var optional: String? = "here"
    }

    enum Shape: Encodable {
        case circle(radius: Double)
        case labelled(String, sides: Int)
        case none
    }

    struct Shapes: Encodable {
        var shapes: [Shape]
        var byName: [String: Shape]
    }

    struct NothingEncoded: Encodable {
        struct Silent: Encodable {
            func encode(to encoder: any Encoder) throws {}
        }
        var silent = Silent()
        var after = 1
    }

    @Test func writesWhatTheTreeEncoderGives() throws {
        let cases: [any Encodable] = [
            Response(results: [Self.hit, Self.hit], total: 2),
            Response(results: [], total: 0),
            Shapes(shapes: [.circle(radius: 1.5), .labelled("tri", sides: 3), .none], byName: ["c": .circle(radius: 2)]),
            NothingEncoded(),
            ["z": 1, "a": 2, "m": 3],
            ["dates": [Date(timeIntervalSince1970: 0)]],
            ["hit": Self.hit],
            ["list": JSONValueEncoderTests.Manual()],  // containers nested and left in order
        ]
        for value in cases {
            let stream = try streamFields(value)
            #expect(stream != nil, "handed back: \(value)")
            #expect(try stream == treeFields(value), "\(value)")
        }
    }

    /// A `Float` is written with the shortest digits that read back as it, as `JSONEncoder` writes it, in a
    /// keyed, an unkeyed and a single-value container.
    @Test func aFloatIsWrittenWithItsShortestDigits() throws {
        struct Ratios: Encodable { var one: Float; var list: [Float]; var alone: Single }
        struct Single: Encodable {
            var value: Float
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(value)
            }
        }
        for value: Float in [0.1, 1.5990167, 1e-7, 3.4028235e38, 16_777_216, -2.75, 1 / 3] {
            let ratios = Ratios(one: value, list: [value], alone: Single(value: value))
            let text = try #require(try JSONStreamEncoder.encodeMembers(ratios))
            let expected = value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
            #expect(String(decoding: text, as: UTF8.self) == #""alone":\#(expected),"list":[\#(expected)],"one":\#(expected)"#)
            #expect(try streamFields(ratios) == treeFields(ratios))
        }
        #expect(throws: EncodingError.self) { try JSONStreamEncoder.encodeMembers(Ratios(one: .nan, list: [], alone: Single(value: 0))) }
    }

    @Test func topLevelMembersAreSortedByKey() throws {
        let text = try #require(try JSONStreamEncoder.encodeMembers(["zeta": 1, "alpha": 2, "mid": 3]))
        #expect(String(decoding: text, as: UTF8.self) == #""alpha":2,"mid":3,"zeta":1"#)
        let empty = try #require(try JSONStreamEncoder.encodeMembers([String: Int]()))
        #expect(empty.isEmpty)
        let repeated = try #require(try JSONStreamEncoder.encodeMembers(RepeatedKey()))
        #expect(String(decoding: repeated, as: UTF8.self) == #""a":[1],"b":"last","c":{"x":2}"#)
        #expect(try ResultFields.encode(RepeatedKey()).values == treeFields(RepeatedKey()))
    }

    /// Keys out of order, one written twice (the tree encoder keeps the last value).
    struct RepeatedKey: Encodable {
        enum Keys: String, CodingKey { case a, b, c, x }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("first", forKey: .b)
            var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .c)
            try nested.encode(2, forKey: .x)
            try container.encode([1], forKey: .a)
            try container.encode("last", forKey: .b)
        }
    }

    /// What one pass cannot follow goes back to the tree encoder, and ``ResultFields`` still gives the
    /// tree's fields.
    struct LateNested: Encodable {
        enum Keys: String, CodingKey { case first, second }
        enum InnerKeys: String, CodingKey { case value }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var first = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .first)
            try container.encode(2, forKey: .second)
            try first.encode(1, forKey: .value)  // after a later sibling was written
        }
    }

    struct CatchesErrors: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: LateNested.Keys.self)
            var first = container.nestedContainer(keyedBy: LateNested.InnerKeys.self, forKey: .first)
            try container.encode(2, forKey: .second)
            try? first.encode(1, forKey: .value)  // the error is swallowed: the value must still go back
        }
    }

    @Test func handsBackWhatOnePassCannotFollow() throws {
        let cases: [any Encodable] = [
            LateNested(), CatchesErrors(), JSONValueEncoderTests.Derived(), "a bare string", [1, 2, 3],
        ]
        for value in cases {
            #expect(try streamFields(value) == nil, "\(value)")
        }
        #expect(try ResultFields.encode(LateNested()).values == ["first": ["value": 1], "second": 2])
        #expect(try ResultFields.encode(JSONValueEncoderTests.Derived()).values == treeFields(JSONValueEncoderTests.Derived()))
        #expect(try ResultFields.encode("a bare string").values == ["value": "a bare string"])
    }

    @Test func refusesEnvelopeKeysAndNonFiniteNumbers() throws {
        #expect(throws: EnvelopeFieldCollision(fields: ["elapsedMs", "seq"])) {
            try JSONStreamEncoder.encodeMembers(["seq": 1, "elapsedMs": 2, "fine": 3])
        }
        struct Bad: Encodable { var values: [Double] }
        #expect(throws: EncodingError.self) { try JSONStreamEncoder.encodeMembers(Bad(values: [1, .nan])) }
        // The error names where the number is, as JSONEncoder's does (the path is built only for it).
        struct Hit: Encodable { var score: Double }
        struct Page: Encodable { var hits: [Hit] }
        do {
            _ = try JSONStreamEncoder.encodeMembers(Page(hits: [Hit(score: 1), Hit(score: .infinity)]))
            Issue.record("an infinite score was encoded")
        } catch EncodingError.invalidValue(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["hits", "1", "score"])
        }
        // A reserved key below the top level is the result's own business.
        #expect(try streamFields(["nested": ["seq": 1]]) == ["nested": ["seq": 1]])
    }

    /// The complete message a session sends: envelope members, then the result's, then `elapsedMs`.
    @Test func aCompleteMessageSplicesTheTextAfterTheEnvelope() throws {
        let descriptor = OperationDescriptor(messageType: "memory_search", eventPrefix: "search", timeout: .seconds(1), stages: [])
        let fields = try ResultFields.encode(["total": 1, "results": 2])
        let message = ServerMessage.event(.complete(fields: fields, elapsed: .milliseconds(7)), id: "r1", descriptor: descriptor)
        #expect(String(decoding: message.encoded(seq: 3), as: UTF8.self)
            == #"{"type":"search_complete","seq":3,"id":"r1","op":"memory_search","results":2,"total":1,"elapsedMs":7}"#)
        let chunk = ServerMessage.event(.chunk(index: 4, fields: fields), id: "r1", descriptor: descriptor)
        #expect(String(decoding: chunk.encoded(seq: 4), as: UTF8.self)
            == #"{"type":"search_chunk","seq":4,"id":"r1","op":"memory_search","chunk":4,"results":2,"total":1}"#)
    }

    /// An operation's results start in a buffer the size of its last one (at least 256 bytes, at most 1 MiB);
    /// the text is the same whatever the starting size.
    @Test func theSizeHintLearnsTheLastResultAndChangesNoByte() throws {
        let hint = EncodedSizeHint()
        #expect(hint.capacity == 256)
        let large = ["text": JSONValue.string(String(repeating: "x", count: 5_000))]
        let first = try ResultFields.encode(large, sizeHint: hint)
        #expect(hint.capacity == 5_009 + 64)  // `"text":"…"` is 5,009 bytes
        #expect(try ResultFields.encode(large, sizeHint: hint) == first)
        #expect(try ResultFields.encode(large) == first)
        hint.record(10 << 20)
        #expect(hint.capacity == 1 << 20)
    }

    /// The compared list of envelope keys is the documented set, and nothing else.
    @Test func isReservedMatchesTheReservedKeys() {
        for key in ServerMessage.reservedKeys { #expect(ServerMessage.isReserved(key), "\(key)") }
        for key in ["results", "total", "Type", "ids", "", "elapsed", "chunks", "seq "] {
            #expect(!ServerMessage.isReserved(key), "\(key)")
        }
    }
}
