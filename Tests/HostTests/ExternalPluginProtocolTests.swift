@testable import RouterHost
import RouterCore
import Testing

@Suite struct ExternalPluginProtocolTests {
    private func parse(_ line: String) throws(ExternalPluginProtocol.MalformedLine) -> ExternalPluginProtocol.Message {
        try ExternalPluginProtocol.parse(Array(line.utf8))
    }

    @Test func parsesEveryPluginMessage() throws {
        #expect(
            try parse(#"{"type":"describe","operations":[{"type":"text_stats","prefix":"stats","timeoutMs":30000,"stages":[{"name":"reading","weight":1},{"name":"counting","weight":8},"summarizing"]}]}"#)
                == .describe([
                    .init(
                        type: "text_stats", prefix: "stats", timeoutMs: 30000,
                        stages: [ProgressStage("reading"), ProgressStage("counting", weight: 8), ProgressStage("summarizing")])
                ]))
        #expect(try parse(#"{"type":"describe","operations":[{"type":"x"}]}"#) == .describe([.init(type: "x", stages: [])]))
        #expect(
            try parse(#"{"type":"progress","id":"r1","stage":"reading","fraction":0.25,"message":"hi"}"#)
                == .progress(id: "r1", stage: "reading", fraction: 0.25, message: "hi"))
        #expect(try parse(#"{"type":"chunk","id":"r1","data":{"n":1}}"#) == .chunk(id: "r1", data: ["n": 1]))
        #expect(try parse(#"{"type":"result","id":"r1"}"#) == .result(id: "r1", data: .object([:])))
        #expect(
            try parse(#"{"type":"error","id":"r1","code":"bad_request","message":"no"}"#)
                == .error(id: "r1", code: "bad_request", message: "no"))
    }

    @Test(arguments: [
        ("not json", "not JSON"),
        ("[1]", "expected a JSON object, found array"),
        (#"{"id":"r1"}"#, "missing string member \"type\""),
        (#"{"type":"teleport","id":"r1"}"#, "unknown message type \"teleport\""),
        (#"{"type":"result","data":{}}"#, "result: missing string member \"id\""),
        (#"{"type":"progress","id":"r1","fraction":1}"#, "progress: missing string member \"stage\""),
        (#"{"type":"progress","id":"r1","stage":"a","fraction":"half"}"#, "progress: \"fraction\" must be a number, found string"),
        (#"{"type":"chunk","id":"r1","data":[1]}"#, "chunk: \"data\" must be an object, found array"),
        (#"{"type":"describe"}"#, "describe: missing array member \"operations\""),
        (#"{"type":"describe","operations":[{"prefix":"p"}]}"#, "describe.operations[0].type: missing or not a non-empty string"),
        (#"{"type":"describe","operations":[{"type":"a","timeoutMs":-5}]}"#, "describe.operations[0].timeoutMs: must be a positive integer (ms), found -5"),
    ])
    func rejectsMalformedLinesSayingWhy(line: String, reason: String) {
        #expect(throws: ExternalPluginProtocol.MalformedLine.self) { try parse(line) }
        do {
            _ = try parse(line)
        } catch {
            #expect(error.reason.hasPrefix(reason), "\(error.reason)")
        }
    }

    @Test func encodesHostMessagesAsSingleLines() throws {
        let request = ExternalPluginProtocol.requestLine(id: "r7", operation: "text_stats", data: ["text": "a\nb"], deadlineMs: 1500)
        #expect(!request.contains("\n"))
        let parsed = try JSONValue(jsonText: request)
        #expect(parsed == ["type": "request", "id": "r7", "op": "text_stats", "data": ["text": "a\nb"], "deadlineMs": 1500])
        #expect(try JSONValue(jsonText: ExternalPluginProtocol.cancelLine(id: "r7")) == ["type": "cancel", "id": "r7"])
        #expect(try JSONValue(jsonText: ExternalPluginProtocol.describeLine()) == ["type": "describe"])
    }

    @Test func splitsLinesAcrossReadsAndDropsOversizedOnes() {
        var splitter = ExternalPluginProtocol.LineSplitter(limit: 8)
        var lines: [String?] = []
        let collect: ([UInt8]?) -> Void = { lines.append($0.map { String(decoding: $0, as: UTF8.self) }) }
        splitter.feed(Array("ab".utf8), line: collect)
        splitter.feed(Array("c\r\nde\n0123456789xyz\nok\nta".utf8), line: collect)
        splitter.feed(Array("il".utf8), line: collect)
        splitter.finish(line: collect)
        #expect(lines == ["abc", "de", nil, "ok", "tail"])
    }

    @Test func errorCodesMustBeSnakeCase() {
        #expect(ExternalPluginProtocol.isValidErrorCode("bad_request"))
        #expect(!ExternalPluginProtocol.isValidErrorCode("Bad Request"))
        #expect(!ExternalPluginProtocol.isValidErrorCode(""))
    }
}
