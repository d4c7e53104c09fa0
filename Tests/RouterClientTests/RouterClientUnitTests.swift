import Foundation
@testable import RouterClient
import RouterCore
import RouterTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("RouterClient backoff and timers (no sockets)")
struct RouterClientUnitTests {
    @Test func backoffCapDoublesFromHalfASecondToTwentySeconds() {
        let policy = RouterClient.ReconnectPolicy()
        let caps = (0..<9).map { policy.cap(attempt: $0) }
        #expect(caps == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(20), .seconds(20), .seconds(20)])
        #expect(policy.cap(attempt: 10_000) == .seconds(20))
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.999_999])
    func backoffDelayStaysWithinItsJitterBounds(random: Double) {
        let full = RouterClient.ReconnectPolicy(random: { random })
        let half = RouterClient.ReconnectPolicy(jitter: 0.5, random: { random })
        for attempt in 0..<12 {
            let cap = full.cap(attempt: attempt)
            let delay = full.delay(attempt: attempt)
            #expect(delay >= .zero && delay <= cap)
            #expect(abs((delay.seconds) - cap.seconds * (1 - random)) < 1e-6)
            let halfDelay = half.delay(attempt: attempt)
            #expect(halfDelay >= cap / 2 && halfDelay <= cap)
        }
        let none = RouterClient.ReconnectPolicy(jitter: 0, random: { random })
        #expect(none.delay(attempt: 3) == .seconds(4))
    }

    @Test func timersPingAfterTheIntervalAndDeclareTheConnectionDeadAfterIntervalPlusTimeout() {
        let start = ContinuousClock.now
        var timers = ConnectionTimers(
            heartbeatInterval: .seconds(2), heartbeatTimeout: .seconds(1), ackInterval: .seconds(10), now: start)
        #expect(timers.next(now: start) == .wait(until: start + .seconds(2)))
        #expect(timers.next(now: start + .seconds(2)) == .sendPing)
        #expect(timers.next(now: start + .seconds(2)) == .wait(until: start + .seconds(3)))
        // Traffic resets the silence and allows another ping.
        timers.received(now: start + .milliseconds(2500))
        #expect(timers.next(now: start + .milliseconds(2500)) == .wait(until: start + .milliseconds(4500)))
        #expect(timers.next(now: start + .milliseconds(4500)) == .sendPing)
        #expect(timers.next(now: start + .milliseconds(5499)) == .wait(until: start + .milliseconds(5500)))
        #expect(timers.next(now: start + .milliseconds(5500)) == .dead(silence: .seconds(3)))
    }

    @Test func timersAskForAnAckEveryInterval() {
        let start = ContinuousClock.now
        var timers = ConnectionTimers(
            heartbeatInterval: .seconds(30), heartbeatTimeout: .seconds(30), ackInterval: .seconds(1), now: start)
        #expect(timers.next(now: start) == .wait(until: start + .seconds(1)))
        #expect(timers.next(now: start + .seconds(1)) == .ack)
        #expect(timers.next(now: start + .seconds(1)) == .wait(until: start + .seconds(2)))
        timers.received(now: start + .milliseconds(1500))
        #expect(timers.next(now: start + .seconds(2)) == .ack)
    }

    @Test func urlsAreParsedIntoHostPortAndTarget() throws {
        let endpoint = try Endpoint("ws://127.0.0.1:8080/ws/memory?compress=gzip")
        #expect(endpoint.host == "127.0.0.1")
        #expect(endpoint.port == 8080)
        #expect(endpoint.target == "/ws/memory?compress=gzip")
        #expect(try Endpoint("ws://localhost").target == "/")
        #expect(throws: RouterError.self) { try Endpoint("http://x/") }
    }
}

@Suite("WebSocketClient socket ownership")
struct WebSocketClientSocketTests {
    /// The socket's identity (device, inode) behind `fd`, or nil when `fd` is not open.
    private func identity(_ fd: Int32) -> (UInt, UInt)? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return (UInt(info.st_dev), UInt(info.st_ino))
    }

    /// `disconnect()` used to mark the socket closed before the reader thread could close it, so
    /// nobody ever did: one fd leaked per dropped connection.
    @Test func disconnectClosesTheSocketExactlyOnce() async throws {
        try await LiveRouter.with(try clientTestRouter()) { server in
            for _ in 0..<5 {
                let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
                let fd = client.socketDescriptor
                let before = try #require(identity(fd))
                client.disconnect()
                client.disconnect()
                while let event = try await client.next(timeout: .seconds(5)), event != .disconnected {}
                // Closed: the descriptor is free (or reused by another socket, never this one).
                if let after = identity(fd) { #expect(after != before, "fd \(fd) still holds the dropped socket") }
                #expect(throws: (any Error).self) { try client.send(text: "{}") }
            }
        }
    }

    @Test func aPeerCloseAlsoClosesTheSocket() async throws {
        try await LiveRouter.with(try clientTestRouter()) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
            let fd = client.socketDescriptor
            let before = try #require(identity(fd))
            try client.close()
            while let event = try await client.next(timeout: .seconds(5)), event != .disconnected {}
            if let after = identity(fd) { #expect(after != before) }
        }
    }
}
