import Testing

@testable import RouterCore

@Suite struct ClientMessageTests {
    private func parse(_ text: String) -> Result<ClientMessage, ClientMessage.Invalid> {
        ClientMessage.parse(Array(text.utf8))
    }

    @Test func parsesRequestsWithAndWithoutIDAndData() {
        #expect(
            parse(#"{"type":"memory_search","data":{"query":"q","limit":10}}"#)
                == .success(
                    .request(
                        type: "memory_search", id: nil, data: .value(.object(["query": .string("q"), "limit": .number(10)])),
                        timeout: nil)))
        #expect(
            parse(#"{"type":"x","id":"a","timeout":1500}"#)
                == .success(.request(type: "x", id: "a", data: .empty, timeout: .milliseconds(1500))))
        #expect(parse(#"{"type":"cancel","id":"a"}"#) == .success(.cancel(id: "a")))
        #expect(parse(#"{"type":"ping"}"#) == .success(.ping(id: nil)))
        #expect(parse(#"{"type":"ping","id":7}"#) == .success(.ping(id: .number(7))))
    }

    /// A request's `data` object is kept as its members (no dictionary made for it): read, it is what a
    /// parsed ``JSONValue`` holds, a repeated key's last value winning, in `data` and of `data` itself.
    @Test func aRequestsDataIsKeptAsItsMembersAndReadsAsTheValue() throws {
        guard case .success(.request(_, _, let data, _)) = parse(#"{"type":"x","data":{"a":1,"b":{"c":[1]},"a":2}}"#) else {
            Issue.record("not a request")
            return
        }
        guard case .members = data else {
            Issue.record("data is not kept as members: \(data)")
            return
        }
        #expect(data.json == ["a": 2, "b": ["c": [1]]])
        #expect(data["a"] == 2)
        #expect(data["b"] == ["c": [1]])
        #expect(data["z"] == nil)
        #expect(data.memberCount == 3)
        #expect(parse(#"{"type":"x","data":{"a":1},"data":null}"#) == .success(.request(type: "x", id: nil, data: .empty, timeout: nil)))
        #expect(
            parse(#"{"type":"x","data":5,"data":{"a":1}}"#)
                == .success(.request(type: "x", id: nil, data: .value(["a": 1]), timeout: nil)))
        #expect(
            parse(#"{"type":"x","data":{"a":1},"data":[1]}"#)
                == .failure(.init(message: "data: expected object, found array", op: "x")))
        #expect(
            parse(#"{"data":{"a":1},"type":"x","id":"r"}"#)
                == .success(.request(type: "x", id: "r", data: .value(["a": 1]), timeout: nil)))
    }

    /// Kept as members, `data` is held to the same depth limit, failing at the same byte.
    @Test func dataKeptAsMembersHasTheSameDepthLimit() throws {
        for depth in [JSONParser.maxDepth - 2, JSONParser.maxDepth - 1, JSONParser.maxDepth] {
            let text = #"{"type":"x","data":{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}"
            let whole = Result { () throws(JSONParseError) in try JSONParser.parse(Array(text.utf8)) }
            switch (parse(text), whole) {
            case (.success, .success): break
            case (.failure(let invalid), .failure(let error)): #expect(invalid.message == error.description)
            case (let message, let value): Issue.record("depth \(depth): \(message) against \(value)")
            }
        }
    }

    @Test func aRepeatedKeyTakesItsLastValueAndWhitespaceIsAllowed() {
        #expect(parse(#" { "type" : "x" , "type" : "ping" } "#) == .success(.ping(id: nil)))
        #expect(parse(#"{"type":"cancel","id":"a","id":"b"}"#) == .success(.cancel(id: "b")))
        #expect(parse(#"{"type":"ping"} x"#) == .failure(.init(message: "invalid JSON at byte 16: unexpected 'x' after the top-level value")))
    }

    @Test(arguments: [
        (#"{"type":"x""#, ClientMessage.Invalid(message: "invalid JSON at byte 11: unexpected end of input, expected ',' or '}'")),
        (#"[1]"#, ClientMessage.Invalid(message: "message must be a JSON object, found array")),
        (#"{"id":"a"}"#, ClientMessage.Invalid(message: "missing \"type\"", id: "a")),
        (#"{"type":5}"#, ClientMessage.Invalid(message: "\"type\" must be a string, found number")),
        (#"{"type":"x","id":5}"#, ClientMessage.Invalid(message: "\"id\" must be a string, found number", op: "x")),
        (#"{"type":"x","id":""}"#, ClientMessage.Invalid(message: "\"id\" must not be empty", id: "", op: "x")),
        (#"{"type":"x","id":"a","data":[1]}"#, ClientMessage.Invalid(message: "data: expected object, found array", id: "a", op: "x")),
        (
            #"{"type":"x","timeout":-1}"#,
            ClientMessage.Invalid(message: "timeout: expected a positive number of milliseconds, found -1", op: "x")
        ),
        (#"{"type":"cancel"}"#, ClientMessage.Invalid(message: "cancel: missing \"id\"", op: "cancel")),
        (#"{"type":"cancel","id":1}"#, ClientMessage.Invalid(message: "cancel: \"id\" must be a string, found number", op: "cancel")),
    ])
    func rejectsBadMessagesPrecisely(text: String, expected: ClientMessage.Invalid) {
        #expect(parse(text) == .failure(expected))
    }
}
