import Foundation
import RouterClient
import RouterCore
import RouterTesting
import Synchronization
import Testing

/// Spins without checking cancellation until `release` is set.
struct SpinUntilReleased: OperationHandler {
    struct Response: Encodable, Sendable { var spun = true }
    struct Request: Decodable, Sendable {}
    static let messageType = "spin"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("spin")]
    let release: SpinRelease

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        release.started.store(true, ordering: .relaxed)
        while !release.flag.load(ordering: .relaxed) {}
        return Response()
    }
}

final class SpinRelease: Sendable {
    let flag = Atomic<Bool>(false)
    let started = Atomic<Bool>(false)
}

@Suite("Abuse: handlers that overrun their timeout", .serialized)
struct OverrunTests {
    /// The client gets `spin_timeout` on time; the handler, still spinning, shows in
    /// `router_handlers_overrunning` until it returns, and its late result never reaches the client.
    @Test func aSpinningHandlerIsReportedAndItsLateResultDropped() async throws {
        let release = SpinRelease()
        defer { release.flag.store(true, ordering: .relaxed) }
        try await withAbuseRouter(try RouterBuilder().register(SpinUntilReleased(release: release)).build()) { server in
            let peer = try await RouterPeer(port: server.port)
            let start = ContinuousClock.now
            try peer.client.send(text: #"{"type":"spin","id":"s1","timeout":300}"#)
            let final = try await peer.finals(for: ["s1"])["s1"]
            #expect(final?["code"] == "spin_timeout")
            #expect(ContinuousClock.now - start < .seconds(5))
            let started = release.started.load(ordering: .relaxed)
            #expect(started)
            // Reported while it spins.
            try await waitForMetric(port: server.port, #"router_handlers_overrunning{op="spin"} 1"#)
            let text = try metricsText(port: server.port)
            #expect(text.contains(#"router_handler_overruns_total{op="spin"} 1"#))
            release.flag.store(true, ordering: .relaxed)
            try await waitForMetric(port: server.port, #"router_handlers_overrunning{op="spin"} 0"#)
            // Its result was dropped: the next message is the pong, not a spin_complete.
            try peer.client.send(text: #"{"type":"ping","id":"after"}"#)
            let next = try await peer.nextJSON()
            #expect(next["type"] == "pong", "got \(next)")
        }
    }
}

/// `GET /metrics` over a raw socket.
func metricsText(port: Int) throws -> String {
    let peer = try RawPeer(port: port)
    try peer.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    return peer.readToEnd().text
}

/// Polls `/metrics` until it contains `line` (each poll is a full HTTP exchange), or throws after 20 s.
func waitForMetric(port: Int, _ line: String) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !(try metricsText(port: port)).contains(line) {
        guard ContinuousClock.now < deadline else { throw AbuseFailure("/metrics never showed \(line)") }
        await Task.yield()
    }
}
