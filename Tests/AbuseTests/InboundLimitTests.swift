import Foundation
import Synchronization
import RouterClient
import RouterCore
import RouterTesting
import Testing

/// The inbound side of a router connection: bounded in messages and bytes by pausing reads (TCP
/// backpressure), never by dropping what a client sent.
@Suite("Abuse: inbound queue bounded in messages and bytes", .serialized)
struct InboundLimitTests {
    /// Finding 7: 2 000 requests in one write (over the 1 024-message bound) are all answered; those over
    /// the in-flight limit get `overloaded`, and the connection stays open.
    @Test func aBurstOverTheMessageBoundGetsOverloadedInsteadOfAClose() async throws {
        try await withAbuseRouter(try RouterBuilder().register(NapHandler()).build()) { server in
            let peer = try await RouterPeer(port: server.port)
            let count = 2000
            var burst: [UInt8] = []
            for index in 0..<count {
                burst += clientFrame(.text, Array(#"{"type":"nap","id":"r\#(index)","data":{"ms":200}}"#.utf8))
            }
            try peer.client.sendRaw(burst)
            let finals = try await peer.finals(for: Set((0..<count).map { "r\($0)" }))
            let overloaded = finals.values.filter { $0["code"] == "overloaded" }.count
            let completed = finals.values.filter { $0["type"] == "nap_complete" }.count
            #expect(overloaded + completed == count, "every request got complete or overloaded")
            #expect(overloaded > 0 && completed >= 16)
            // Still open: a ping is answered.
            try await routerRoundTrips(peer, 1)
        }
    }

    /// Finding 4: deflated messages that each inflate to 16 MB. The server reads them only as fast as
    /// its session takes them, so its memory stays bounded, and a bystander on the same loop is served.
    @Test func compressedAmplificationStaysBoundedInMemory() async throws {
        try await withAbuseRouter(try RouterBuilder().register(NapHandler()).build()) { server in
            let bystander = try await RouterPeer(port: server.port)
            let attacker = try await RouterPeer(port: server.port, deflate: true)
            #expect(attacker.client.usesDeflate)
            let padding = String(repeating: "a", count: (16 << 20) - 100)
            let message = #"{"type":"nope","id":"x","data":{"pad":"\#(padding)"}}"#
            try await routerRoundTrips(bystander, 3)
            resetPeakRSS()
            let before = currentRSS()
            let messages = 60
            let sender = AttackThread { attack in
                for _ in 0..<messages where !attack.stop.load(ordering: .relaxed) {
                    try? attacker.client.send(text: message)
                }
            }
            let slowest = try await routerRoundTrips(bystander, 20, timeout: .seconds(30))
            // Every message is answered (unknown_operation) in the end.
            var answered = 0
            while answered < messages {
                let reply = try await attacker.nextJSON(timeout: .seconds(60))
                if reply["code"] == "unknown_operation" { answered += 1 }
            }
            await sender.stopAndWait()
            let growth = peakRSS() - before
            print("compressed amplification: \(messages) × 16 MB, peak RSS growth \(growth >> 20) MiB, bystander slowest \(slowest)")
            // Unbounded, the queue holds most of the 60 × 16 MB (about 1 GB); bounded, a few messages.
            #expect(growth < 400 << 20, "peak RSS grew by \(growth >> 20) MiB")
        }
    }

    /// The token bucket: a burst past it gets `rate_limited` (naming the request), the connection lives
    /// on; a peer that keeps flooding is closed with 1008; another client is not affected.
    @Test func floodsAreRateLimitedThenClosed() async throws {
        try await withAbuseRouter(
            try RouterBuilder().register(NapHandler()).build(),
            configure: { _, settings in
                settings.messagesPerSecond = 100
                settings.messageBurst = 50
            }
        ) { server in
            let bystander = try await RouterPeer(port: server.port)
            let peer = try await RouterPeer(port: server.port)
            var burst: [UInt8] = []
            for index in 0..<59 { burst += clientFrame(.text, Array(#"{"type":"ping","id":"p\#(index)"}"#.utf8)) }
            burst += clientFrame(.text, Array(#"{"type":"nap","id":"late","data":{"ms":1}}"#.utf8))
            try peer.client.sendRaw(burst)
            var pongs = 0
            var limited: [JSONValue] = []
            while pongs + limited.count < 60 {
                let message = try await peer.nextJSON()
                if message["type"] == "pong" { pongs += 1 }
                if message["code"] == "rate_limited" { limited.append(message) }
            }
            #expect(pongs >= 50 && pongs < 60, "\(pongs) pongs")
            #expect(limited.contains { $0["id"] == "late" && $0["op"] == "nap" }, "the refused request is named")
            try await routerRoundTrips(bystander, 3)
            // Keeping it up closes the connection.
            var flood: [UInt8] = []
            for _ in 0..<400 { flood += clientFrame(.text, Array(#"{"type":"ping"}"#.utf8)) }
            try peer.client.sendRaw(flood)
            var closeCode: UInt16?
            while closeCode == nil {
                let event = try await peer.client.next(timeout: .seconds(20))
                switch event {
                case .close(let code, _): closeCode = code ?? 0
                case .disconnected?, nil: closeCode = 0
                default: continue
                }
            }
            #expect(closeCode == 1008)
            try await routerRoundTrips(bystander, 3)
        }
    }
}
