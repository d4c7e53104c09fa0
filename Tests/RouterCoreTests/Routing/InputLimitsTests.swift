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

    /// A message's `data` arrives as its members in order (``RequestData/members(_:)``): the same limits
    /// hold, with the same errors, a repeated key's last value being the one checked.
    @Test(arguments: [
        #"{"ids":["a","b","c"],"query":"  two terms ","entries":[{"text":"12345"}]}"#, #"{"ids":["a","b","c","d"]}"#,
        #"{"query":"one two three four"}"#, #"{"entries":[{"text":"ok"},{"text":"123456"}]}"#,
        #"{"ids":["a","b","c","d"],"ids":[]}"#, #"{"ids":[],"ids":["a","b","c","d"]}"#, #"{"ids":"not an array"}"#,
    ])
    func dataKeptAsMembersMeetsTheSameLimits(json: String) throws {
        let members = try RequestData(parsing: Array(json.utf8))
        guard case .members = members else {
            Issue.record("an object is kept as its members")
            return
        }
        #expect(limits.violation(in: members) == limits.violation(in: members.json))
    }

    @Test func aRepeatedKeysLastValueIsTheOneChecked() throws {
        let data = try RequestData(parsing: Array(#"{"ids":[],"ids":["a","b","c","d"]}"#.utf8))
        #expect(limits.violation(in: data) == .payloadTooLarge("data.ids: 4 items, over the limit of 3 (maxIds)"))
        let earlier = try RequestData(parsing: Array(#"{"ids":["a","b","c","d"],"ids":[]}"#.utf8))
        #expect(limits.violation(in: earlier) == nil)
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
