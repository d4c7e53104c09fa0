import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Testing

@Suite("RouterClient over real sockets")
struct RouterClientLiveTests {
    @Test func aRequestStreamsProgressAndChunksThenEndsWithTheResult() async throws {
        try await LiveRouter.with(try clientTestRouter(), configure: fastSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: testOptions())
            let outcome = await collect(client.request(type: "ticker", data: ["count": 20, "intervalMs": 0]))
            expectExactlyOnce(outcome, ticks: 20)
            #expect(outcome.events.filter { $0.kind == .progress }.count == 20)
            #expect(outcome.events.first?.stage == "ticking")
            struct Ticks: Decodable { var ticks: Int }
            #expect(try outcome.events.last?.decode(Ticks.self).ticks == 20)
            #expect(client.statistics.sessionsStarted == 1)
            #expect(client.inFlight == 0)
            await client.close()
        }
    }

    @Test func aServerErrorEndsTheStreamWithItsCodeAndRequestID() async throws {
        try await LiveRouter.with(try clientTestRouter(), configure: fastSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: testOptions())
            let unknown = await collect(client.request(type: "no_such_op", id: "r1"))
            let error = try #require(unknown.error as? RouterError)
            #expect(error.code == "unknown_operation")
            #expect(error.id == "r1")
            let bad = await collect(client.request(type: "ticker", data: ["count": "many"], id: "r2"))
            let badError = try #require(bad.error as? RouterError)
            #expect(badError.code == "bad_request")
            #expect(badError.message.contains("data.count"))
            await client.close()
        }
    }

    @Test func cancellingTheConsumingTaskCancelsTheOperationOnTheServer() async throws {
        let probe = Probe()
        try await LiveRouter.with(try clientTestRouter(probe: probe), configure: fastSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: testOptions())
            let consumer = Task { await collect(client.request(type: "gate", data: ["tag": "a"])) }
            await probe.wait(for: "started a")
            consumer.cancel()
            await probe.wait(for: "cancelled a")
            _ = await consumer.value
            #expect(client.inFlight == 0)
            // The connection goes on: another request completes.
            expectExactlyOnce(await collect(client.request(type: "ticker", data: ["count": 3, "intervalMs": 0])), ticks: 3)
            await client.close()
        }
    }

    @Test func closeSendsA1000CloseThatEndsTheServerSession() async throws {
        let probe = Probe()
        try await LiveRouter.with(try clientTestRouter(probe: probe), configure: fastSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: testOptions())
            let consumer = Task { await collect(client.request(type: "gate", data: ["tag": "b"])) }
            await probe.wait(for: "started b")
            await client.close()
            let outcome = await consumer.value
            #expect((outcome.error as? RouterError)?.code == RouterError.closed)
            await probe.wait(for: "cancelled b")
            let late = await collect(client.request(type: "ticker", data: ["count": 1, "intervalMs": 0]))
            #expect((late.error as? RouterError)?.code == RouterError.closed)
        }
    }

    @Test func requestsMadeWhileReconnectingWaitForTheConnection() async throws {
        try await LiveRouter.with(try clientTestRouter(), configure: fastSettings) { server in
            let proxy = try TCPProxy(targetPort: server.port)
            defer { proxy.stop() }
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(proxy.port)/ws/memory", options: testOptions())
            proxy.rejectNew = true
            proxy.cut()
            _ = try await client.waitFor("a failed attempt") {
                if case .disconnected(let reason) = $0 { reason.hasPrefix("connect failed") } else { false }
            }
            let waiting = Task { await collect(client.request(type: "ticker", data: ["count": 5, "intervalMs": 0])) }
            proxy.rejectNew = false
            expectExactlyOnce(await waiting.value, ticks: 5)
            #expect(client.statistics.failedAttempts >= 1)
            await client.close()
        }
    }

    @Test func reconnectAttemptsWaitTheBackoffDelays() async throws {
        try await LiveRouter.with(try clientTestRouter(), configure: fastSettings) { server in
            let proxy = try TCPProxy(targetPort: server.port)
            defer { proxy.stop() }
            let delays = Locked<[Duration]>([])
            var options = testOptions()
            // Fixed randomness and a recording clock: the delays are exact and nobody waits.
            options.reconnect = .init(initialDelay: .milliseconds(500), maximumDelay: .seconds(4), jitter: 0.5, random: { 0.5 })
            options.sleep = { delay in
                let count = delays.withLock { delays in
                    delays.append(delay)
                    return delays.count
                }
                if count == 6 { proxy.rejectNew = false }
                await Task.yield()
            }
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(proxy.port)/ws/memory", options: options)
            proxy.rejectNew = true
            proxy.cut()
            _ = try await client.waitFor("the reconnect", \.isResumedOrFailed)
            // Attempt 0 after the drop, then one more per refused attempt: cap × 0.75.
            #expect(delays.withLock { $0 } == [.milliseconds(375), .milliseconds(750), .milliseconds(1500), .seconds(3), .seconds(3), .seconds(3)])
            await client.close()
        }
    }

    @Test func aDropMidOperationIsResumedAndEveryEventArrivesOnce() async throws {
        try await LiveRouter.with(try clientTestRouter(), configure: fastSettings) { server in
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/memory", options: testOptions())
            let session = client.session
            var dropped = false
            let outcome = await collect(client.request(type: "ticker", data: ["count": 40, "intervalMs": 10])) { event in
                if !dropped, event.chunkIndex == 10 {
                    dropped = true
                    client.dropConnection()
                }
            }
            expectExactlyOnce(outcome, ticks: 40)
            #expect(client.statistics.resumes == 1)
            #expect(client.statistics.seqGaps == 0)
            #expect(client.session == session)
            await client.close()
        }
    }

    @Test func aSilentServerIsDetectedByTheHeartbeatAndTheSessionResumed() async throws {
        try await LiveRouter.with(try clientTestRouter(), configure: fastSettings) { server in
            let proxy = try TCPProxy(targetPort: server.port)
            defer { proxy.stop() }
            let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(proxy.port)/ws/memory", options: testOptions())
            var frozen = false
            let outcome = await collect(client.request(type: "ticker", data: ["count": 30, "intervalMs": 10])) { event in
                if !frozen, event.chunkIndex == 5 {
                    frozen = true
                    proxy.freeze()  // a black hole: no FIN, no RST, only silence
                }
            }
            expectExactlyOnce(outcome, ticks: 30)
            #expect(client.statistics.heartbeatTimeouts >= 1)
            #expect(client.statistics.resumes == 1)
            await client.close()
        }
    }
}

extension ConnectionEvent {
    var isResumedOrFailed: Bool { isResumed || isResumeFailed }
}
