import Foundation
import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on `127.0.0.1:0` that forwards to a server and can fail the way networks fail:
/// ``cut()`` severs every connection (both peers see the TCP connection end, without a WebSocket
/// close frame), ``freeze()`` stops all traffic on the open connections without closing them (a
/// black-holed path: only heartbeats can tell), ``rejectNew`` refuses new connections.
///
/// Blocking I/O on threads of its own: an accept thread and two pump threads per connection.
///
/// ```swift
/// let proxy = try TCPProxy(targetPort: server.port)
/// let client = try await RouterClient.connect(url: "ws://127.0.0.1:\(proxy.port)/ws/memory")
/// proxy.cut()   // the client reconnects through the proxy and resumes
/// ```
package final class TCPProxy: Sendable {
    /// The port the proxy listens on.
    package let port: Int
    private let listenFD: Int32
    private let targetPort: Int
    private let state = Locked(ProxyState())

    private struct ProxyState {
        var pairs: [Int: Pair] = [:]
        var nextID = 0
        var rejectNew = false
        var accepted = 0
        var stopped = false
    }

    /// Starts listening and accepting.
    package init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            close(fd)
            throw ProxyError(description: "proxy bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "TCPProxy accept"
        thread.start()
    }

    /// Connections accepted so far.
    package var acceptedConnections: Int { state.withLock { $0.accepted } }
    /// Connections currently forwarded.
    package var openConnections: Int { state.withLock { $0.pairs.count } }

    /// When true, new connections are accepted and closed at once (a server that refuses).
    package var rejectNew: Bool {
        get { state.withLock { $0.rejectNew } }
        set { state.withLock { $0.rejectNew = newValue } }
    }

    /// Severs every open connection: both sides see the TCP connection end, with no close frame.
    package func cut() {
        for pair in state.withLock({ Array($0.pairs.values) }) { pair.sever() }
    }

    /// Stops forwarding on every open connection without closing it (bytes wait in the kernel
    /// buffers). New connections are not affected. ``thaw()`` lets the bytes through again.
    package func freeze() {
        for pair in state.withLock({ Array($0.pairs.values) }) { pair.setFrozen(true) }
    }

    /// Undoes ``freeze()`` on the connections still open.
    package func thaw() {
        for pair in state.withLock({ Array($0.pairs.values) }) { pair.setFrozen(false) }
    }

    /// Stops accepting and severs everything.
    package func stop() {
        let alreadyStopped = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !alreadyStopped else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        cut()
    }

    private func acceptLoop() {
        defer { close(listenFD) }
        while true {
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let (reject, stopped) = state.withLock { state in
                state.accepted += 1
                return (state.rejectNew, state.stopped)
            }
            if stopped { close(client); return }
            if reject { close(client); continue }
            guard let upstream = Self.connectLoopback(port: targetPort) else {
                close(client)
                continue
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(upstream, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let id = state.withLock { state -> Int in
                state.nextID += 1
                return state.nextID
            }
            let pair = Pair(client: client, upstream: upstream) { [weak self] in
                _ = self?.state.withLock { $0.pairs.removeValue(forKey: id) }
            }
            state.withLock { $0.pairs[id] = pair }
            pair.start()
        }
    }

    private static func connectLoopback(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    /// One proxied connection: two pumps, closed once both have ended.
    private final class Pair: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        private let onEnd: @Sendable () -> Void
        // `condition` guards the fields below.
        private let condition = NSCondition()
        private var frozen = false
        private var severed = false
        private var pumpsRunning = 2

        init(client: Int32, upstream: Int32, onEnd: @escaping @Sendable () -> Void) {
            self.client = client
            self.upstream = upstream
            self.onEnd = onEnd
        }

        func start() {
            for (from, to) in [(client, upstream), (upstream, client)] {
                let thread = Thread { [self] in pump(from: from, to: to) }
                thread.name = "TCPProxy pump"
                thread.start()
            }
        }

        func setFrozen(_ value: Bool) {
            condition.lock()
            frozen = value
            condition.broadcast()
            condition.unlock()
        }

        func sever() {
            condition.lock()
            let first = !severed
            severed = true
            condition.broadcast()
            if first {
                // Both fds stay open until both pumps end, so these never hit a reused descriptor.
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(upstream, Int32(SHUT_RDWR))
            }
            condition.unlock()
        }

        private func pump(from: Int32, to: Int32) {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            loop: while true {
                let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                // Frozen, nothing passes, not even the end of the connection: a black hole until thawed or cut.
                condition.lock()
                while frozen && !severed { condition.wait() }
                let stop = severed
                condition.unlock()
                if stop || count <= 0 { break }
                var offset = 0
                while offset < count {
                    let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                    if written < 0, errno == EINTR { continue }
                    if written <= 0 { break loop }
                    offset += written
                }
            }
            sever()
            condition.lock()
            pumpsRunning -= 1
            let last = pumpsRunning == 0
            condition.unlock()
            if last {
                close(client)
                close(upstream)
                onEnd()
            }
        }
    }
}

/// The proxy could not start.
package struct ProxyError: Error, CustomStringConvertible {
    package let description: String
}
