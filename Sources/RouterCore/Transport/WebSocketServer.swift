import Foundation
import Synchronization

/// The transport: event loops, listeners and connections serving WebSocket services and plain HTTP.
///
/// ```swift
/// var configuration = TransportConfiguration()
/// configuration.port = 0
/// configuration.echoPath = "/ws/echo"
/// let server = try WebSocketServer.start(configuration)
/// print(server.port)
/// await server.shutdown(closeCode: .goingAway)
/// ```
package final class WebSocketServer: Sendable {
    /// The bound port (useful when the configuration asked for port 0).
    package let port: Int
    /// The event loops (one thread each).
    let loops: [EventLoop]
    private let listeners: [Listener.Box]
    private let context: ServerContext

    private init(port: Int, loops: [EventLoop], listeners: [Listener.Box], context: ServerContext) {
        self.port = port
        self.loops = loops
        self.listeners = listeners
        self.context = context
    }

    /// Binds and starts serving. Throws ``SocketError`` naming the failed call: a port in use fails
    /// with `bind to HOST:PORT failed: Address already in use`, whoever holds it. Nothing is left
    /// running after a failure (no loop thread, no descriptor).
    package static func start(_ configuration: TransportConfiguration, logger: Logger = .disabled) throws(SocketError) -> WebSocketServer {
        let count = configuration.eventLoops > 0 ? configuration.eventLoops : ProcessorCount.available
        let context = ServerContext(configuration: configuration, logger: logger)
        // Bound before any thread exists, so a failed bind leaves nothing behind.
        let fd = try Socket.makeListener(host: configuration.host, port: configuration.port)
        let port: Int
        do {
            port = try Socket.localPort(fd)
        } catch {
            close(fd)
            throw error
        }
        let socket = ListeningSocket(fd: fd)
        var loops: [EventLoop] = []
        var boxes: [Listener.Box] = []
        do {
            for index in 0..<count { loops.append(try EventLoop(index: index, batchScheduling: configuration.batchScheduling)) }
            // Registered before the loops' threads start, so a failure is thrown here rather than lost.
            for loop in loops {
                let listener = Listener(socket: socket, loop: loop, loops: loops, server: context)
                boxes.append(Listener.Box(listener))
                try listener.start()
            }
        } catch {
            if boxes.isEmpty { close(fd) }
            for box in boxes { box.listener.stop() }
            for loop in loops { loop.discard() }
            throw error
        }
        for loop in loops { loop.start() }
        return WebSocketServer(port: port, loops: loops, listeners: boxes, context: context)
    }

    /// Whether the caller runs on one of this server's event-loop threads (for tests).
    package var isOnEventLoop: Bool { loops.contains { $0.inEventLoop } }

    /// WebSocket connections currently open.
    package var openConnections: Int { context.openWebSockets.load(ordering: .relaxed) }
    /// WebSocket connections opened since start.
    package var totalConnections: Int { context.totalWebSockets.load(ordering: .relaxed) }
    /// TCP connections (any stage) currently held.
    package var acceptedConnections: Int { context.acceptedConnections.load(ordering: .relaxed) }

    /// What the connections hold in memory right now, summed over every loop (each loop answers between
    /// two iterations). For tests and diagnostics, while the server runs (a stopped loop never answers).
    package func statistics() async -> TransportStatistics {
        var total = TransportStatistics()
        for loop in loops {
            let part = await withCheckedContinuation { (continuation: CheckedContinuation<TransportStatistics, Never>) in
                loop.execute {
                    var statistics = TransportStatistics()
                    for case let connection as Connection in loop.registeredChannels() {
                        connection.addStatistics(to: &statistics)
                    }
                    continuation.resume(returning: statistics)
                }
            }
            total.add(part)
        }
        return total
    }

    /// Starts draining before a graceful stop: the listener stays open, plain HTTP is still answered
    /// (a `/healthz` that reports the drain lets a load balancer take the host out of rotation), but every
    /// WebSocket upgrade is refused with 503. Established connections carry on. Cannot be undone.
    package func beginDraining() {
        context.beginDraining()
    }

    /// Whether ``beginDraining()`` was called.
    package var isDraining: Bool { context.isDraining }

    /// Stops accepting new connections; open ones carry on.
    package func stopAccepting() {
        for box in listeners {
            box.loop.execute { box.listener.stop() }
        }
    }

    /// Starts the close handshake on every open WebSocket (e.g. 1001 at shutdown) and drops
    /// connections still in their HTTP stage.
    package func closeAll(code: CloseCode, reason: String) {
        for loop in loops {
            loop.execute {
                for case let connection as Connection in loop.registeredChannels() {
                    connection.closeForShutdown(code: code, reason: reason)
                }
            }
        }
    }

    /// Graceful stop: stop accepting, close every connection with `closeCode`, wait up to
    /// `drainTimeout` for the close handshakes, then stop the loops.
    package func shutdown(closeCode: CloseCode = .goingAway, reason: String = "server shutting down", drainTimeout: Duration = .seconds(2)) async {
        stopAccepting()
        closeAll(code: closeCode, reason: reason)
        let deadline = ContinuousClock.now + drainTimeout
        while acceptedConnections > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for loop in loops { loop.shutdown() }
        for loop in loops { await loop.waitUntilFinished() }
    }
}

extension Listener {
    /// Carries a loop-confined listener to its loop's tasks.
    final class Box: @unchecked Sendable {
        let listener: Listener
        let loop: EventLoop
        init(_ listener: Listener) {
            self.listener = listener
            self.loop = listener.loop
        }
    }
}

/// Bytes held by a server's connections at one moment (see ``WebSocketServer/statistics()``).
package struct TransportStatistics: Sendable {
    /// Connections registered with the loops (any stage).
    package var connections = 0
    /// Received bytes not yet parsed (a partial frame or request head).
    package var inboundBufferedBytes = 0
    /// Memory reserved for those bytes.
    package var inboundCapacityBytes = 0
    /// Bytes queued for sending and not yet written to the sockets.
    package var outboundBytes = 0

    package init() {}

    mutating func add(_ other: TransportStatistics) {
        connections += other.connections
        inboundBufferedBytes += other.inboundBufferedBytes
        inboundCapacityBytes += other.inboundCapacityBytes
        outboundBytes += other.outboundBytes
    }
}
