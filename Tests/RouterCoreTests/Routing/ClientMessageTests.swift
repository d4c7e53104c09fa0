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
                        type: "memory_search", id: nil, data: .object(["query": .string("q"), "limit": .number(10)]),
                        timeout: nil)))
        #expect(
            parse(#"{"type":"x","id":"a","timeout":1500}"#)
                == .success(.request(type: "x", id: "a", data: .object([:]), timeout: .milliseconds(1500))))
        #expect(parse(#"{"type":"cancel","id":"a"}"#) == .success(.cancel(id: "a")))
        #expect(parse(#"{"type":"ping"}"#) == .success(.ping(id: nil)))
        #expect(parse(#"{"type":"ping","id":7}"#) == .success(.ping(id: .number(7))))
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
