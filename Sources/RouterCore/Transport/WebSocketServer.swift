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
public final class WebSocketServer: Sendable {
    /// The bound port (useful when the configuration asked for port 0).
    public let port: Int
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

    /// Binds and starts serving. Throws ``SocketError`` naming the failed call (e.g. the port is in use).
    public static func start(_ configuration: TransportConfiguration) throws(SocketError) -> WebSocketServer {
        let count = configuration.eventLoops > 0 ? configuration.eventLoops : ProcessorCount.available
        let context = ServerContext(configuration: configuration)
        var loops: [EventLoop] = []
        for index in 0..<count { loops.append(try EventLoop(index: index)) }

        // One SO_REUSEPORT listener per loop: the kernel spreads connections over the loops.
        var fds: [Int32] = []
        do {
            let first = try Socket.makeListener(host: configuration.host, port: configuration.port, reusePort: true)
            fds.append(first)
            let port = try Socket.localPort(first)
            for _ in 1..<count {
                fds.append(try Socket.makeListener(host: configuration.host, port: port, reusePort: true))
            }
        } catch {
            for fd in fds { close(fd) }
            throw error
        }
        let port = try Socket.localPort(fds[0])
        var boxes: [Listener.Box] = []
        for (loop, fd) in zip(loops, fds) {
            let box = Listener.Box(Listener(fd: fd, loop: loop, server: context))
            boxes.append(box)
            loop.start()
            loop.execute {
                do {
                    try box.listener.start()
                } catch {
                    box.listener.stop()
                }
            }
        }
        return WebSocketServer(port: port, loops: loops, listeners: boxes, context: context)
    }

    /// WebSocket connections currently open.
    public var openConnections: Int { context.openWebSockets.load(ordering: .relaxed) }
    /// WebSocket connections opened since start.
    public var totalConnections: Int { context.totalWebSockets.load(ordering: .relaxed) }
    /// TCP connections (any stage) currently held.
    public var acceptedConnections: Int { context.acceptedConnections.load(ordering: .relaxed) }

    /// Stops accepting new connections; open ones carry on.
    public func stopAccepting() {
        for box in listeners {
            box.loop.execute { box.listener.stop() }
        }
    }

    /// Starts the close handshake on every open WebSocket (e.g. 1001 at shutdown) and drops
    /// connections still in their HTTP stage.
    public func closeAll(code: CloseCode, reason: String) {
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
    public func shutdown(closeCode: CloseCode = .goingAway, reason: String = "server shutting down", drainTimeout: Duration = .seconds(2)) async {
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
