import Foundation
import Testing

@testable import RouterCore

/// A result that writes its own members: the writer's text, and the fall back to `Encodable` when the
/// writer cannot write what `Encodable` would.
@Suite struct JSONMembersWriterTests {
    struct Row: Encodable, Equatable {
        var name: String
        var weight: Double
    }

    /// Writes itself; `mistake` makes it write a member `Encodable` would refuse.
    struct Page: JSONMembersWritable, Equatable {
        var count: Int
        var rows: [Row]
        var tags: [String]
        var title: String

        func writeMembers(to writer: inout JSONMembersWriter) {
            writer.member("count", count)
            writer.member("rows", objectCount: rows.count) { writer, index in
                let row = rows[index]
                writer.member("name", row.name)
                writer.member("weight", row.weight)
            }
            writer.member("tags", tags)
            writer.member("title", title)
        }
    }

    /// Declares a key the envelope uses in its fast path, as its `Encodable` does.
    struct Colliding: JSONMembersWritable {
        var seq: Int
        func writeMembers(to writer: inout JSONMembersWriter) { writer.member("seq", seq) }
    }

    static let page = Page(
        count: 3, rows: [Row(name: "a \"quoted\" row", weight: 0.5), Row(name: "東京 😀", weight: 2)], tags: ["x", "y\n"],
        title: "café")

    @Test func theWrittenTextIsTheEncodableText() throws {
        let written = try #require(JSONMembersWriter.writtenText(of: Self.page))
        #expect(written == #""count":3,"rows":[{"name":"a \"quoted\" row","weight":0.5},{"name":"東京 😀","weight":2}],"tags":["x","y\n"],"title":"café""#)
        #expect(written == (try JSONMembersWriter.codableText(of: Self.page)))
        let empty = Page(count: 0, rows: [], tags: [], title: "")
        #expect(JSONMembersWriter.writtenText(of: empty) == (try JSONMembersWriter.codableText(of: empty)))
    }

    @Test func resultFieldsTakeTheWrittenText() throws {
        let fields = try ResultFields.encode(Self.page)
        #expect(fields.values == (try ResultEncoding.fields(of: Self.page)))
    }

    @Test func aNonFiniteNumberFallsBackToEncodableWhichThrows() {
        let page = Page(count: 1, rows: [Row(name: "r", weight: .infinity)], tags: [], title: "t")
        #expect(JSONMembersWriter.writtenText(of: page) == nil)
        #expect(throws: EncodingError.self) { try ResultFields.encode(page) }
    }

    @Test func anEnvelopeKeyFallsBackToEncodableWhichThrows() {
        #expect(JSONMembersWriter.writtenText(of: Colliding(seq: 1)) == nil)
        #expect(throws: EnvelopeFieldCollision(fields: ["seq"])) { try ResultFields.encode(Colliding(seq: 1)) }
    }

    @Test func theEncoderChosenForAWritableTypeWritesItOrFallsBackToEncodable() throws {
        let encode = ResultFields.encoder(for: Page.self)
        #expect(try encode(Self.page, nil).values == (try ResultEncoding.fields(of: Self.page)))
        let nonFinite = Page(count: 1, rows: [Row(name: "r", weight: .nan)], tags: [], title: "t")
        #expect(throws: EncodingError.self) { try encode(nonFinite, nil) }
        #expect(throws: EnvelopeFieldCollision(fields: ["seq"])) {
            try ResultFields.encoder(for: Colliding.self)(Colliding(seq: 1), nil)
        }
        // A type that does not write itself goes through `Encodable`.
        #expect(try ResultFields.encoder(for: Row.self)(Row(name: "x", weight: 1), nil).values == ["name": "x", "weight": 1])
    }
}
