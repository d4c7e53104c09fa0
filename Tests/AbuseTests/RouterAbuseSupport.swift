import Foundation
import RouterClient
import RouterCore
import RouterTesting
#if canImport(Glibc)
import Glibc
#endif

/// Sleeps `ms` (default 20): a request that holds an in-flight slot for a while.
struct NapHandler: OperationHandler {
    struct Request: Decodable, Sendable { var ms: Int? }
    struct Response: Encodable, Sendable { var slept: Int }
    static let messageType = "nap"
    static let timeout: Duration = .seconds(30)
    static let stages = [ProgressStage("nap")]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let ms = request.ms ?? 20
        try await Task.sleep(for: .milliseconds(ms))
        return Response(slept: ms)
    }
}

/// Runs a router with one event loop (attacker and bystander share it) on 127.0.0.1:0.
func withAbuseRouter<R>(
    _ router: Router,
    configure: (inout TransportConfiguration, inout RouterSettings) -> Void = { _, _ in },
    _ body: (RouterServer) async throws -> R
) async throws -> R {
    try await LiveRouter.with(router, configure: { transport, settings in
        transport.eventLoops = 1
        configure(&transport, &settings)
    }, body)
}

/// A router client that answers the server's pings, with helpers to read JSON messages.
struct RouterPeer {
    let client: WebSocketClient

    init(port: Int, deflate: Bool = false) async throws {
        var options = WebSocketClient.Options()
        options.offerDeflate = deflate
        client = try WebSocketClient.connect(port: port, path: "/ws/memory", options: options)
        let welcome = try await nextJSON()
        guard welcome["type"] == "welcome" else { throw AbuseFailure("expected welcome, got \(welcome)") }
    }

    /// The next text message as JSON; throws on a close, a disconnect or silence for `timeout`.
    func nextJSON(timeout: Duration = .seconds(20)) async throws -> JSONValue {
        while true {
            let event = try await client.next(timeout: timeout)
            switch event {
            case .text(let text): return try JSONValue(parsing: Data(text.utf8))
            case .ping?, .pong?: continue
            default: throw AbuseFailure("expected a text message, got \(String(describing: event))")
            }
        }
    }

    /// Reads until every id in `ids` got its final message (`*_complete` or `error`); returns them by id.
    func finals(for ids: Set<String>, timeout: Duration = .seconds(20)) async throws -> [String: JSONValue] {
        var finals: [String: JSONValue] = [:]
        while finals.count < ids.count {
            let message = try await nextJSON(timeout: timeout)
            if case .string(let id)? = message["id"], ids.contains(id), message.isFinalMessage { finals[id] = message }
        }
        return finals
    }
}

/// A router bystander: one small request at a time, each answered within `timeout`; returns the slowest.
@discardableResult
func routerRoundTrips(_ peer: RouterPeer, _ count: Int, prefix: String = "b", timeout: Duration = .seconds(15)) async throws
    -> Duration
{
    var slowest = Duration.zero
    for index in 0..<count {
        let start = ContinuousClock.now
        try peer.client.send(text: #"{"type":"ping","id":"\#(prefix)\#(index)"}"#)
        while true {
            let message = try await peer.nextJSON(timeout: timeout)
            if message["type"] == "pong", message["id"] == .string("\(prefix)\(index)") { break }
        }
        slowest = max(slowest, ContinuousClock.now - start)
    }
    return slowest
}

/// Peak resident memory of this process since ``resetPeakRSS()`` (VmHWM, bytes).
func peakRSS() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}

/// Resident memory now (VmRSS, bytes).
func currentRSS() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}

/// Resets VmHWM to the current RSS (`echo 5 > /proc/self/clear_refs`).
func resetPeakRSS() {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return }
    _ = write(fd, "5", 1)
    close(fd)
}
