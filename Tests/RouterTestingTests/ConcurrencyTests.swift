import RouterCore
import RouterTesting
import Testing

@Suite struct ConcurrencyTests {
    /// 200 requests over 20 sessions: per session 3 complete, 3 are cancelled by the client, 2
    /// time out cooperatively and 2 time out while ignoring cancellation. Every request gets exactly
    /// one final message and nothing after it; seq is +1 per session; every gauge returns to 0.
    @Test func twoHundredRequestsOverTwentySessionsAreAllAnsweredExactlyOnce() async throws {
        let gate = Gate()
        let lateOutputs = Countdown()
        let metrics = OperationMetrics()
        let router = try RouterBuilder().register(WorkHandler(gate: gate, lateOutputs: lateOutputs)).build()
        let service = RouterService(router: router, settings: RouterSettings(progressQuietPeriod: .zero), metrics: metrics, logger: .disabled)
        let sessions = 20
        let perSession = 10
        try await withRunningService(service) {
            let connections = (0..<sessions).map { _ in TestConnection(to: service) }
            // The connections are driven concurrently, one task each.
            await withTaskGroup(of: Void.self) { group in
                for connection in connections {
                    nonisolated(unsafe) let connection = connection
                    group.addTask {
                        for index in 0..<perSession {
                            switch index % 4 {
                            case 0: connection.send(#"{"type":"work","id":"r\#(index)","data":{"mode":"complete"}}"#)
                            case 1:
                                connection.send(#"{"type":"work","id":"r\#(index)","data":{"mode":"hang"}}"#)
                                connection.send(#"{"type":"cancel","id":"r\#(index)"}"#)
                            case 2: connection.send(#"{"type":"work","id":"r\#(index)","timeout":20,"data":{"mode":"hang"}}"#)
                            default: connection.send(#"{"type":"work","id":"r\#(index)","timeout":20,"data":{"mode":"stubborn"}}"#)
                            }
                            await Task.yield()
                        }
                    }
                }
            }
            for connection in connections {
                let all = await connection.sink.waitFor(timeout: .seconds(20)) { messages in
                    messages.filter(\.isFinalMessage).count == perSession
                }
                #expect(all)
            }
            // Stubborn handlers are still blocked, yet nothing is in flight any more.
            #expect(service.inFlightTotal == 0)
            #expect(metrics.snapshot().operations["work"]?.inFlight == 0)
            let countsBeforeRelease = connections.map(\.messages.count)
            gate.open()
            // Every stubborn handler (2 per session) went on and offered its late progress and chunk.
            await lateOutputs.wait(for: 2 * sessions)
            #expect(connections.map(\.messages.count) == countsBeforeRelease, "zombies must not send after their final message")

            var codes: [String: Int] = [:]
            for connection in connections {
                let messages = connection.messages
                #expect(messages.compactMap { message -> Double? in
                    if case .number(let seq)? = message["seq"] { return seq }
                    return nil
                } == (1...messages.count).map(Double.init), "seq must increase by one")
                for index in 0..<perSession {
                    let forRequest = connection.messages(for: "r\(index)")
                    #expect(forRequest.filter(\.isFinalMessage).count == 1, "r\(index) must end exactly once")
                    #expect(forRequest.last?.isFinalMessage == true, "nothing may follow r\(index)'s final message")
                    // A cancel sent right behind its request can be handled before the handler's first
                    // progress event (both arrive in one batch), and a 20 ms deadline can pass before a loaded
                    // machine starts the handler: only the requests without either must report progress.
                    if index % 4 == 0 {
                        #expect(forRequest.first?.messageType == "work_progress", "r\(index) reports progress")
                    }
                    let final = forRequest.last
                    let code = final?.messageType == "work_complete" ? "complete" : (final?["code"].flatMap { if case .string(let c) = $0 { c } else { nil } } ?? "?")
                    codes[code, default: 0] += 1
                }
            }
            #expect(codes == ["complete": 60, "cancelled": 60, "work_timeout": 80])
            let counters = try #require(metrics.snapshot().operations["work"])
            #expect(counters.started == 200)
            #expect(counters.completed == 60)
            #expect(counters.cancelled == 60)
            #expect(counters.timedOut == 80)
            #expect(counters.latencyBucketCounts.reduce(0, +) == 200)
            #expect(metrics.prometheusText().contains(#"router_operations_in_flight{op="work"} 0"#))

            for connection in connections { connection.close() }
            #expect(await connections[0].sink.waitFor { _ in metrics.snapshot().connectionsCurrent == 0 })
            #expect(metrics.snapshot().connectionsOpened == 20)
        }
    }
}
