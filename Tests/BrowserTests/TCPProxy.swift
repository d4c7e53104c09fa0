import Foundation
import RouterCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 between the browser and `router-host`, so a test can break the page's
/// connection without restarting either end:
/// - ``hold()`` stops forwarding what the host sends (the bytes are dropped, as on a dead link);
///   what the browser sends still reaches the host;
/// - ``sever()`` closes every proxied connection: the browser sees the socket end without a close
///   frame (1006), the host a peer gone without one, so its session detaches (DESIGN §6);
/// - ``refusing`` closes new connections as soon as they are accepted (the link is still down).
final class TCPProxy: Sendable {
    /// The port the browser connects to.
    let port: Int
    private let targetPort: Int
    private let listener: Int32

    private struct State {
        var connections: [ProxiedConnection] = []
        var holding = false
        var refusing = false
        var accepted = 0
        var refused = 0
        var heldBytes = 0
        var closed = false
    }
    private let state = Mutex(State())
    /// Signalled when bytes are held (``waitForHeldBytes(timeout:)``).
    private let held = ChangeSignal()

    /// Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:targetPort`.
    init(to targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrowserTestError("proxy socket: errno \(errno)") }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard ok else {
            let error = errno
            Glibc.close(fd)
            throw BrowserTestError("proxy bind/listen: errno \(error)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// `ws://127.0.0.1:PORT/ws/memory`: the router endpoint through the proxy.
    var webSocketURL: String { "ws://127.0.0.1:\(port)/ws/memory" }

    /// Connections accepted and forwarded so far.
    var accepted: Int { state.withLock { $0.accepted } }
    /// Connections closed at once because ``refusing`` was set.
    var refused: Int { state.withLock { $0.refused } }
    /// Bytes from the host dropped while holding.
    var heldBytes: Int { state.withLock { $0.heldBytes } }

    /// Waits until bytes from the host were dropped while holding, or `timeout` passes; returns whether some were.
    /// (The host logs the end of an operation before its answer reaches the proxy's socket.)
    func waitForHeldBytes(timeout: Duration = .seconds(10)) async -> Bool {
        await held.wait(timeout: timeout) { heldBytes > 0 }
    }

    /// While true, new connections are closed as soon as they are accepted.
    var refusing: Bool {
        get { state.withLock { $0.refusing } }
        set { state.withLock { $0.refusing = newValue } }
    }

    /// From now on, what the host sends on the open connections is dropped instead of forwarded.
    func hold() {
        state.withLock { $0.holding = true }
    }

    /// Closes every open connection (both sides); new connections are forwarded normally again.
    /// Returns how many were cut.
    @discardableResult
    func sever() -> Int {
        let connections = state.withLock { state in
            defer {
                state.connections = []
                state.holding = false
            }
            return state.connections
        }
        for connection in connections { connection.shutdownBoth() }
        return connections.count
    }

    /// Stops listening and cuts every connection.
    func close() {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        // Wakes the accept loop (which closes the listener when it returns).
        _ = shutdown(listener, Int32(SHUT_RDWR))
        sever()
    }

    // MARK: Threads (blocking sockets: one thread per direction)

    private func acceptLoop() {
        defer { Glibc.close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let decision = state.withLock { state -> (closed: Bool, refuse: Bool) in
                if state.refusing { state.refused += 1 }
                return (state.closed, state.refusing)
            }
            if decision.closed || decision.refuse {
                Glibc.close(client)
                if decision.closed { return }
                continue
            }
            guard let upstream = connectToTarget() else {
                Glibc.close(client)
                continue
            }
            Self.noDelay(client)
            let connection = ProxiedConnection(client: client, server: upstream)
            state.withLock { state in
                state.connections.append(connection)
                state.accepted += 1
            }
            Thread.detachNewThread { [self] in pump(connection, fromHost: true) }
            Thread.detachNewThread { [self] in pump(connection, fromHost: false) }
        }
    }

    private func pump(_ connection: ProxiedConnection, fromHost: Bool) {
        let from = fromHost ? connection.server : connection.client
        let to = fromHost ? connection.client : connection.server
        var buffer = [UInt8](repeating: 0, count: 65536)
        loop: while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            if fromHost {
                let dropped = state.withLock { state in
                    if state.holding { state.heldBytes += count }
                    return state.holding
                }
                if dropped {
                    held.changed()
                    continue
                }
            }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(to, $0.baseAddress! + offset, count - offset) }
                if written < 0, errno == EINTR { continue }
                if written <= 0 { break loop }
                offset += written
            }
        }
        connection.pumpEnded()
    }

    private func connectToTarget() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = Self.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        Self.noDelay(fd)
        return fd
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func noDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// One browser connection and its upstream; both descriptors are closed once, when both pumps
/// ended, and never shut down after that (their numbers may belong to other sockets by then).
private final class ProxiedConnection: Sendable {
    let client: Int32
    let server: Int32
    /// Pumps still running; 0 once the descriptors are closed.
    private let pumpsRunning = Mutex(2)

    init(client: Int32, server: Int32) {
        self.client = client
        self.server = server
    }

    /// Ends both directions: each pump's `read` returns 0.
    func shutdownBoth() {
        pumpsRunning.withLock { running in
            guard running > 0 else { return }
            _ = shutdown(client, Int32(SHUT_RDWR))
            _ = shutdown(server, Int32(SHUT_RDWR))
        }
    }

    /// A pump stopped (its peer closed, or ``shutdownBoth()``): the other side is ended too.
    func pumpEnded() {
        pumpsRunning.withLock { running in
            _ = shutdown(client, Int32(SHUT_RDWR))
            _ = shutdown(server, Int32(SHUT_RDWR))
            running -= 1
            if running == 0 {
                Glibc.close(client)
                Glibc.close(server)
            }
        }
    }
}
