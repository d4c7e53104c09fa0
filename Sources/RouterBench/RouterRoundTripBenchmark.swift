import Foundation
import RouterClient
import RouterCore
import Synchronization

/// Measures the router's own cost: a trivial operation (`noop`) requested and answered over loopback
/// WebSockets by N concurrent clients, each with one request in flight. Reports requests/s and latency percentiles.
enum RouterRoundTripBenchmark {
    struct Noop: OperationHandler {
        struct Request: Decodable, Sendable { var n: Int }
        struct Response: Encodable, Sendable { var n: Int }
        static let messageType = "noop"
        static let timeout: Duration = .seconds(10)
        static let stages = [ProgressStage("run")]
        func handle(_ request: Request, context: OperationContext) async throws -> Response { Response(n: request.n) }
    }

    static func run(arguments: [String]) async throws {
        let connections = RouterBench.option("--connections", in: arguments, default: 16)
        let seconds = RouterBench.option("--seconds", in: arguments, default: 5)
        let router = try RouterBuilder().register(Noop()).build()
        var transport = TransportConfiguration()
        transport.port = 0
        let server = try RouterServer.start(router: router, transport: transport)
        let runner = Task(executorPreference: RouterExecutors.control) { await server.run() }
        let latencies = LatencyLog()
        let deadline = ContinuousClock.now + .seconds(seconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
                    _ = try await client.next()
                    var local: [Double] = []
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let start = ContinuousClock.now
                        try client.send(text: #"{"type":"noop","id":"\#(n)","data":{"n":\#(n)}}"#)
                        while true {
                            guard case .text(let text)? = try await client.next() else { continue }
                            if text.contains("noop_complete") { break }
                        }
                        let elapsed = (ContinuousClock.now - start).components
                        local.append(Double(elapsed.seconds) * 1e6 + Double(elapsed.attoseconds) / 1e12)
                        n += 1
                    }
                    latencies.append(local)
                    try client.close()
                }
            }
            try await group.waitForAll()
        }
        await server.shutdown(grace: .zero)
        runner.cancel()
        let sorted = latencies.all.sorted()
        guard !sorted.isEmpty else { return }
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print(String(
            format: "router noop round trips: %d connections, %ds: %.0f req/s, latency p50 %.0f µs, p99 %.0f µs",
            connections, seconds, Double(sorted.count) / Double(seconds), percentile(0.5), percentile(0.99)))
    }
}

/// Latencies in microseconds, collected from many tasks.
final class LatencyLog: Sendable {
    private let values = Mutex<[Double]>([])
    func append(_ more: [Double]) { values.withLock { $0 += more } }
    var all: [Double] { values.withLock { $0 } }
}
