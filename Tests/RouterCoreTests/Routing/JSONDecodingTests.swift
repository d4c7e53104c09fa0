import Foundation
import Testing

@testable import RouterCore

private struct SearchRequest: Decodable, Equatable {
    enum Mode: String, Decodable { case bm25, hybrid }
    struct Filter: Decodable, Equatable { var tag: String }
    var query: String
    var limit: Int
    var tags: [String]?
    var mode: Mode?
    var filters: [Filter]?
    var since: Date?
    var small: UInt8?
}

@Suite struct JSONDecodingTests {
    private func failure(_ data: String) throws -> String {
        do {
            _ = try JSONValue(jsonText: data).decode(SearchRequest.self, rootName: "data")
            return "decoded"
        } catch let failure as JSONDecodingFailure {
            return failure.description
        }
    }

    @Test func decodesAValidRequest() throws {
        let request = try JSONValue(jsonText: #"{"query":"tea","limit":3,"since":"2024-05-01T10:00:00Z","mode":"hybrid"}"#)
            .decode(SearchRequest.self, rootName: "data")
        #expect(request.query == "tea")
        #expect(request.limit == 3)
        #expect(request.mode == .hybrid)
        #expect(request.since == Date(timeIntervalSince1970: 1_714_557_600))
    }

    @Test(arguments: [
        (#"{"query":"x","limit":"10"}"#, "data.limit: expected integer, found string"),
        (#"{"limit":10}"#, "data.query: missing"),
        (#"{"query":null,"limit":1}"#, "data.query: expected string, found null"),
        (#"{"query":"x","limit":2.5}"#, "data.limit: expected integer, found 2.5"),
        (#"{"query":"x","limit":1,"tags":["a",1]}"#, "data.tags[1]: expected string, found 1"),
        (#"{"query":"x","limit":1,"mode":"fast"}"#, #"data.mode: invalid value "fast""#),
        (#"{"query":"x","limit":1,"filters":[{"tag":"a"},{}]}"#, "data.filters[1].tag: missing"),
        (#"{"query":"x","limit":1,"filters":{}}"#, "data.filters: expected array, found object"),
        (#"{"query":"x","limit":1,"since":"yesterday"}"#, #"data.since: expected an ISO 8601 date, found "yesterday""#),
        (#"{"query":"x","limit":1,"small":300}"#, "data.small: expected integer between 0 and 255, found 300"),
        (#"[]"#, "data: expected object, found array"),
    ])
    func reportsThePathThatFailed(data: String, message: String) throws {
        #expect(try failure(data) == message)
    }

    @Test func passesClientFacingErrorsThrough() {
        struct Batch: Decodable {
            init(from decoder: any Decoder) throws { throw OperationError.payloadTooLarge("at most 100 entries") }
        }
        #expect(throws: OperationError.payloadTooLarge("at most 100 entries")) {
            try JSONValue.object([:]).decode(Batch.self, rootName: "data")
        }
    }
}
