import Dispatch
import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Testing

/// Holds the decoding of a request's `data` (its `Request` initializer) until released: a large message
/// whose decoding is slow, paused in the middle of being turned into a request.
final class DecodeHold: Sendable {
    /// Opens once the decoding has started (on whichever thread decodes).
    let started = Gate()
    private let release = DispatchSemaphore(value: 0)

    private static let holds = Locked<[String: DecodeHold]>([:])

    /// A hold that requests naming `name` in `data.hold` wait on.
    static func make(_ name: String) -> DecodeHold {
        let hold = DecodeHold()
        holds.withLock { $0[name] = hold }
        return hold
    }

    static func named(_ name: String) -> DecodeHold? { holds.withLock { $0[name] } }

    /// Blocks the decoding thread until ``open()``; gives up after 30 s so a failing test still ends.
    func block() {
        started.open()
        _ = release.wait(timeout: .now() + 30)
    }

    func open() { release.signal() }
}

/// A request whose `data` decodes slowly (held by a ``DecodeHold``) and whose handler waits to be cancelled.
struct HeldDecodeHandler: OperationHandler {
    struct Request: Decodable, Sendable {
        var pad: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            pad = try container.decode(String.self, forKey: .pad)
            if let name = try container.decodeIfPresent(String.self, forKey: .hold) { DecodeHold.named(name)?.block() }
        }
        enum Keys: String, CodingKey { case pad, hold }
    }
    struct Response: Encodable, Sendable { var bytes: Int }
    static let messageType = "held"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("wait")]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        try await Task.sleep(for: .seconds(60))
        return Response(bytes: request.pad.utf8.count)
    }
}

/// Large inbound messages are parsed and decoded away from the session thread their loop shares with
/// other connections, in order and exactly once per connection.
@Suite("Abuse: large messages are decoded off the shared session thread", .serialized)
struct LargeMessageTests {
    /// While a 512 KiB request's decoding is held mid-way, a bystander on the same loop (one loop: one
    /// session thread) keeps getting `pong`s. The attacker's `cancel`, sent right behind its big request,
    /// is handled after it (it finds the request in flight), and the request ends exactly once.
    @Test func aBystanderIsAnsweredWhileALargeMessageIsDecoded() async throws {
        let hold = DecodeHold.make("big-1")
        defer { hold.open() }
        try await withAbuseRouter(try RouterBuilder().register(HeldDecodeHandler()).build()) { server in
            let bystander = try await RouterPeer(port: server.port)
            let attacker = try await RouterPeer(port: server.port)
            let pad = String(repeating: "x", count: 512 << 10)
            var burst = clientFrame(.text, Array(#"{"type":"held","id":"big","data":{"hold":"big-1","pad":"\#(pad)"}}"#.utf8))
            burst += clientFrame(.text, Array(#"{"type":"cancel","id":"big"}"#.utf8))
            try attacker.client.sendRaw(burst)
            await hold.started.wait()
            // The decoding is held: the bystander's pings must still be answered.
            try await routerRoundTrips(bystander, 5, timeout: .seconds(10))
            hold.open()
            let final = try await attacker.nextJSON()
            #expect(final["id"] == "big")
            #expect(final["code"] == "cancelled", "the cancel was handled after its request: \(final)")
            // Exactly once: the next message is the pong, no second final for "big".
            try await routerRoundTrips(attacker, 1)
        }
    }
}
