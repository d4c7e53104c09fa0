import Synchronization

/// What every connection of one server shares: the configuration and the counters. Thread-safe.
final class ServerContext: Sendable {
    let configuration: TransportConfiguration
    private let connectionIDs = Atomic<UInt64>(0)
    /// TCP connections accepted and not yet closed.
    let acceptedConnections = Atomic<Int>(0)
    /// WebSocket connections currently open.
    let openWebSockets = Atomic<Int>(0)
    /// WebSocket connections opened since start.
    let totalWebSockets = Atomic<Int>(0)

    init(configuration: TransportConfiguration) {
        self.configuration = configuration
    }

    func nextConnectionID() -> UInt64 {
        connectionIDs.add(1, ordering: .relaxed).newValue
    }

    func connectionOpened() {
        openWebSockets.add(1, ordering: .relaxed)
        totalWebSockets.add(1, ordering: .relaxed)
    }

    func connectionClosed(wasWebSocket: Bool) {
        acceptedConnections.subtract(1, ordering: .relaxed)
        if wasWebSocket { openWebSockets.subtract(1, ordering: .relaxed) }
    }

    /// Plain HTTP: the configured responder, else 404.
    func respond(to head: HTTPRequestHead) -> HTTPResponse {
        configuration.httpResponder?(head) ?? .notFound("no resource at \(head.path)")
    }
}
