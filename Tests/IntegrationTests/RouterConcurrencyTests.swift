import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Testing

@Suite("Router under concurrent load over real sockets")
struct RouterConcurrencyTests {
    /// 200 requests over 20 connections: a third complete, a third are cancelled, a third time out.
    /// Each gets exactly one final message, and the in-flight gauge returns to 0.
    @Test func twoHundredRequestsOverTwentyConnectionsAreEachAnsweredExactlyOnce() async throws {
        try await LiveRouter.with(try testRouter()) { server in
            let outcomes = try await withThrowingTaskGroup(of: [String: String].self) { group in
                for connection in 0..<20 {
                    group.addTask {
                        let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
                        _ = try await client.nextJSON()
                        var expected: [String: String] = [:]
                        for request in 0..<10 {
                            let id = "c\(connection)-r\(request)"
                            switch request % 3 {
                            case 0:
                                try client.send(text: #"{"type":"slow","id":"\#(id)","data":{"ms":\#(50 + request * 10)}}"#)
                                expected[id] = "slow_complete"
                            case 1:
                                try client.send(text: #"{"type":"slow","id":"\#(id)","data":{"ms":3000}}"#)
                                try client.send(text: #"{"type":"cancel","id":"\#(id)"}"#)
                                expected[id] = "cancelled"
                            default:
                                try client.send(text: #"{"type":"slow","id":"\#(id)","timeout":100,"data":{"ms":3000}}"#)
                                expected[id] = "slow_timeout"
                            }
                        }
                        var finals: [String: String] = [:]
                        while finals.count < expected.count {
                            let message = try await client.nextJSON(timeout: .seconds(10))
                            guard case .string(let id)? = message["id"] else { continue }
                            let outcome: String
                            switch message["type"] {
                            case "slow_complete": outcome = "slow_complete"
                            case "error":
                                guard case .string(let code)? = message["code"] else { continue }
                                outcome = code
                            default: continue
                            }
                            #expect(finals[id] == nil, "second final message for \(id)")
                            finals[id] = outcome
                        }
                        #expect(finals == expected)
                        // Nothing more arrives for these ids: a ping round trip comes back next.
                        try client.send(text: #"{"type":"ping","id":"last"}"#)
                        let next = try await client.nextJSON()
                        #expect(next["type"] == "pong")
                        try client.close()
                        return finals
                    }
                }
                var all: [String: String] = [:]
                for try await finals in group { all.merge(finals) { a, _ in a } }
                return all
            }
            #expect(outcomes.count == 200)
            #expect(outcomes.values.filter { $0 == "slow_complete" }.count == 80)
            #expect(outcomes.values.filter { $0 == "cancelled" }.count == 60)
            #expect(outcomes.values.filter { $0 == "slow_timeout" }.count == 60)
            #expect(server.service.inFlightTotal == 0)
            let metrics = try rawExchange(port: server.port, Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).text
            #expect(metrics.contains(#"router_operations_in_flight{op="slow"} 0"#))
            #expect(metrics.contains(#"router_operations_started_total{op="slow"} 200"#))
            #expect(metrics.contains(#"router_operations_cancelled_total{op="slow"} 60"#))
            #expect(metrics.contains(#"router_operations_timed_out_total{op="slow"} 60"#))
        }
    }
}
