import Foundation
@testable import RouterCore
import Testing

/// The direct encoder must give what `JSONEncoder` (dates as ISO 8601) followed by parsing gives.
@Suite struct JSONValueEncoderTests {
    private func viaText(_ value: some Encodable) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try JSONParser.parse(Array(try encoder.encode(value)))
    }

    enum Mood: String, Codable { case calm, busy }

    struct Hit: Codable {
        var id: String
        var score: Double
        var tags: [String]
        var createdAt: Date
        var note: String?
        var mood: Mood
        var counts: [String: Int]
        var matrix: [[Int]]
        var blob: Data
        var link: URL
        var nested: Inner?
        var flags: Set<Int>
        var big: Int64
        var small: UInt8
        var ratio: Float
    }

    struct Inner: Codable {
        var depth: Int
        var children: [Inner]
    }

    class Base: Encodable {
        var name = "base"
        private enum CodingKeys: String, CodingKey { case name }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
        }
    }

    final class Derived: Base, @unchecked Sendable {
        var extra = 7
        private enum CodingKeys: String, CodingKey { case extra }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(extra, forKey: .extra)
            try super.encode(to: container.superEncoder())
        }
    }

    struct Manual: Encodable {
        func encode(to encoder: any Encoder) throws {
            var list = encoder.unkeyedContainer()
            try list.encode(1)
            var inner = list.nestedContainer(keyedBy: IndexlessKey.self)
            try inner.encode("x", forKey: .a)
            var deeper = list.nestedUnkeyedContainer()
            try deeper.encodeNil()
            try deeper.encode(true)
        }
    }

    enum IndexlessKey: String, CodingKey { case a }

    @Test func matchesJSONEncoderOnStructsArraysOptionalsDatesDataAndURLs() throws {
        let hit = Hit(
            id: "mem-1", score: 0.25, tags: ["café", "😀"], createdAt: Date(timeIntervalSince1970: 1_764_000_000),
            note: nil, mood: .busy, counts: ["a": 1, "b": 2], matrix: [[1, 2], [], [3]], blob: Data([0, 1, 254, 255]),
            link: URL(string: "https://example.com/a?b=c")!,
            nested: Inner(depth: 1, children: [Inner(depth: 2, children: [])]), flags: [3], big: 1 << 40, small: 255,
            ratio: 0.5)
        #expect(try JSONValueEncoder.encode(hit) == viaText(hit))
        #expect(try JSONValueEncoder.encode([hit, hit]) == viaText([hit, hit]))
        #expect(try JSONValueEncoder.encode(Derived()) == viaText(Derived()))
        #expect(try JSONValueEncoder.encode(Manual()) == viaText(Manual()))
        #expect(try JSONValueEncoder.encode("plain") == viaText("plain"))
        #expect(try JSONValueEncoder.encode(["k": JSONValue.array([.null, .bool(false)])]) == viaText(["k": JSONValue.array([.null, .bool(false)])]))
    }

    /// A `Float` is the number its shortest digits name, as `JSONEncoder` writes it (`0.1`, not the
    /// `0.10000000149011612` of the `Double` it widens to).
    @Test func aFloatIsTheNumberItsShortestDigitsName() throws {
        struct Ratios: Codable { var one: Float; var list: [Float] }
        for value: Float in [0.1, 1.5990167, 1e-7, 3.4028235e38, .leastNonzeroMagnitude, 16_777_216, 0.5, -2.75, 1 / 3] {
            #expect(try JSONValueEncoder.encode(value) == .number(Double(value.description)!), "\(value)")
            let ratios = Ratios(one: value, list: [value, 0.2])
            #expect(try JSONValueEncoder.encode(ratios) == viaText(ratios), "\(value)")
        }
    }

    @Test func refusesNonFiniteNumbersWithThePath() throws {
        struct Bad: Encodable { var values: [Double] }
        #expect(throws: EncodingError.self) { try JSONValueEncoder.encode(Bad(values: [1, .nan])) }
        #expect(throws: EncodingError.self) { try viaText(Bad(values: [1, .nan])) }
    }
}
