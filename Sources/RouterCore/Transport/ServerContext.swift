import Synchronization

/// Whether an accepted connection is served.
enum Admission: Equatable {
    case admitted
    /// Answered 503 with this reason and closed.
    case rejected(String)
}

/// What every connection of one server shares: the configuration and the counters. Thread-safe.
final class ServerContext: Sendable {
    let configuration: TransportConfiguration
    /// For the transport's own rare events (the listener running out of descriptors).
    let logger: Logger
    private let connectionIDs = Atomic<UInt64>(0)
    /// TCP connections accepted and not yet closed.
    let acceptedConnections = Atomic<Int>(0)
    /// WebSocket connections currently open.
    let openWebSockets = Atomic<Int>(0)
    /// WebSocket connections opened since start.
    let totalWebSockets = Atomic<Int>(0)
    /// Open connections by client address (only when a per-address limit is set).
    private let connectionsByAddress = Locked<[String: Int]>([:])
    private let nextLoop = Atomic<UInt64>(0)
    private let drainingFlag = Atomic<Bool>(false)

    init(configuration: TransportConfiguration, logger: Logger = .disabled) {
        self.configuration = configuration
        self.logger = logger
    }

    func nextConnectionID() -> UInt64 {
        connectionIDs.add(1, ordering: .relaxed).newValue
    }

    func connectionOpened() {
        openWebSockets.add(1, ordering: .relaxed)
        totalWebSockets.add(1, ordering: .relaxed)
    }

    /// Whether a new connection may be served: it counts against ``TransportConfiguration/maxConnections``
    /// and ``TransportConfiguration/maxConnectionsPerAddress`` until ``connectionClosed(wasWebSocket:clientKey:)``.
    func admit(clientKey: String) -> Admission {
        let count = acceptedConnections.add(1, ordering: .relaxed).newValue
        if count > configuration.maxConnections {
            acceptedConnections.subtract(1, ordering: .relaxed)
            return .rejected("server is at its connection limit")
        }
        let limit = configuration.maxConnectionsPerAddress
        guard limit > 0 else { return .admitted }
        let admitted = connectionsByAddress.withLock { counts -> Bool in
            let current = counts[clientKey, default: 0]
            guard current < limit else { return false }
            counts[clientKey] = current + 1
            return true
        }
        if !admitted {
            acceptedConnections.subtract(1, ordering: .relaxed)
            return .rejected("too many connections from \(clientKey) (limit \(limit))")
        }
        return .admitted
    }

    func connectionClosed(wasWebSocket: Bool, clientKey: String) {
        acceptedConnections.subtract(1, ordering: .relaxed)
        if wasWebSocket { openWebSockets.subtract(1, ordering: .relaxed) }
        guard configuration.maxConnectionsPerAddress > 0 else { return }
        connectionsByAddress.withLock { counts in
            let remaining = counts[clientKey, default: 1] - 1
            counts[clientKey] = remaining > 0 ? remaining : nil
        }
    }

    /// Whether the server is draining (``WebSocketServer/beginDraining()``): upgrades are refused.
    var isDraining: Bool { drainingFlag.load(ordering: .acquiring) }

    func beginDraining() { drainingFlag.store(true, ordering: .releasing) }

    /// The answer to a WebSocket upgrade while draining: 503, so a client (or a load balancer that
    /// has not yet seen the failing health check) goes elsewhere.
    static let drainingRefusal = HTTPResponse.serviceUnavailable(
        "the server is draining (shutting down) and takes no new WebSocket connections; connect again to reach another host")

    /// The loop for the next accepted connection: round-robin over `count` loops.
    func nextLoopIndex(of count: Int) -> Int {
        Int(nextLoop.add(1, ordering: .relaxed).oldValue % UInt64(count))
    }

    /// Plain HTTP: the configured responder, else 404.
    func respond(to head: HTTPRequestHead) -> HTTPResponse {
        configuration.httpResponder?(head) ?? .notFound("no resource at \(head.path)")
    }
}
