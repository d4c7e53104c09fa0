import Foundation
import RouterCore
import Synchronization
import Testing

@Suite("/healthz reports a degraded dependency")
struct HealthzDegradedTests {
    @Test func degradedWhileTheReasonIsSetThenOkAgain() async throws {
        let reason = Mutex<String?>(nil)
        var configuration = TransportConfiguration()
        configuration.port = 0
        configuration.eventLoops = 1
        let server = try RouterServer.start(
            router: RouterBuilder().build(), transport: configuration, degradedReason: { reason.withLock { $0 } })
        defer { Task { await server.shutdown(grace: .zero) } }
        func health() throws -> String {
            String(decoding: try rawExchange(port: server.port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)), as: UTF8.self)
        }
        #expect(try health().contains(#"{"status":"ok","#))
        reason.withLock { $0 = #"memory backend: Redis unreachable: "127.0.0.1:6379" refused"# }
        let degraded = try health()
        #expect(degraded.hasPrefix("HTTP/1.1 200"), "a degraded host still serves: load balancers keep it")
        #expect(degraded.contains(#"{"status":"degraded","reason":"memory backend: Redis unreachable: \"127.0.0.1:6379\" refused","#))
        reason.withLock { $0 = nil }
        #expect(try health().contains(#"{"status":"ok","#))
    }
}
