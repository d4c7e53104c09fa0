import Testing

@testable import RouterCore

@Suite struct InputLimitsTests {
    let limits: InputLimits = [
        .maxItems("ids", 3, name: "maxIds"), .maxTerms("query", 2, name: "maxQueryTerms"),
        .maxBytes("entries[].text", 5, name: "maxTextBytes"),
    ]

    @Test func withinEveryLimitPasses() {
        let data: JSONValue = ["ids": ["a", "b", "c"], "query": "  two terms ", "entries": [["text": "12345"]]]
        #expect(limits.violation(in: data) == nil)
        #expect(limits.violation(in: [:]) == nil, "absent fields are not checked")
        #expect(limits.violation(in: ["ids": "not an array"]) == nil, "decoding reports the type")
    }

    @Test func aViolationNamesTheFieldWhatWasFoundAndTheLimit() {
        #expect(
            limits.violation(in: ["ids": ["a", "b", "c", "d"]])
                == .payloadTooLarge("data.ids: 4 items, over the limit of 3 (maxIds)"))
        #expect(
            limits.violation(in: ["query": "one two three four"])
                == .payloadTooLarge("data.query: more than 2 terms, over the limit of 2 (maxQueryTerms)"))
        #expect(
            limits.violation(in: ["entries": [["text": "ok"], ["text": "123456"]]])
                == .payloadTooLarge("data.entries[1].text: 6 bytes, over the limit of 5 (maxTextBytes)"))
    }

    /// The router checks a handler's declared limits before decoding and running it.
    @Test func anOperationChecksItsHandlersLimitsBeforeDecoding() throws {
        struct Limited: OperationHandler {
            struct Request: Decodable, Sendable { var ids: [String] }
            struct Response: Encodable, Sendable {}
            static let messageType = "limited"
            static let timeout: Duration = .seconds(1)
            static let stages: [ProgressStage] = []
            var inputLimits: InputLimits { [.maxItems("ids", 1, name: "maxIds")] }
            func handle(_ request: Request, context: OperationContext) async throws -> Response { Response() }
        }
        let operation = AnyOperation(Limited())
        #expect(throws: OperationError.payloadTooLarge("data.ids: 2 items, over the limit of 1 (maxIds)")) {
            try operation.prepare(data: ["ids": ["a", "b"]])
        }
        _ = try operation.prepare(data: ["ids": ["a"]])
    }
}
