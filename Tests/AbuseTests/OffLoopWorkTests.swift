import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Testing

/// Answers with a large, compressible text.
struct LargeResultHandler: OperationHandler {
    struct Request: Decodable, Sendable { var bytes: Int }
    struct Response: Encodable, Sendable { var text: String }
    static let messageType = "large"
    static let timeout: Duration = .seconds(30)
    static let stages = [ProgressStage("write")]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        Response(text: String(repeating: "memory router ", count: request.bytes / 14))
    }
}

/// Work the issue moved off the event-loop threads stays off them.
@Suite("Abuse: CPU work stays off the event loops", .serialized)
struct OffLoopWorkTests {
    /// Every message the router compresses for a permessage-deflate client (a 256 KB result and `pong`s:
    /// the threshold is 16 bytes here) is compressed by its producer, never on a loop thread, where it
    /// would delay every other connection of that loop. The `welcome`, queued on the loop while the
    /// connection opens, goes uncompressed. The codec reports each compression on the thread that does it.
    @Test func outboundDeflateRunsOffTheEventLoops() async throws {
        let server = Locked<WebSocketServer?>(nil)
        let compressions = Locked<(total: Int, onLoop: Int)>((0, 0))
        let observer = DeflateObserver { _ in
            let onLoop = server.withLock { $0?.isOnEventLoop ?? false }
            compressions.withLock {
                $0.total += 1
                if onLoop { $0.onLoop += 1 }
            }
        }
        try await withAbuseRouter(
            try RouterBuilder().register(LargeResultHandler()).build(),
            configure: { transport, _ in
                transport.perMessageDeflate.threshold = 16
                transport.perMessageDeflate.deflateObserver = observer
            }
        ) { router in
            server.withLock { $0 = router.transport }
            let peer = try await RouterPeer(port: router.port, deflate: true)
            #expect(peer.client.usesDeflate)
            try peer.client.send(text: #"{"type":"large","id":"l1","data":{"bytes":262144}}"#)
            let final = try await peer.finals(for: ["l1"])["l1"]
            #expect(final?["type"] == "large_complete")
            if case .string(let text)? = final?["text"] { #expect(text.utf8.count > 250_000) } else { Issue.record("no text in \(String(describing: final))") }
            try await routerRoundTrips(peer, 3)
        }
        let seen = compressions.withLock { $0 }
        #expect(seen.total >= 4, "the result and three pongs compressed: \(seen.total)")
        #expect(seen.onLoop == 0, "\(seen.onLoop) of \(seen.total) messages compressed on an event-loop thread")
    }
}
