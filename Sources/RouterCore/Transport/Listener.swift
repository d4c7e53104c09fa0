import CLinuxShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The server's one listening socket, shared by the listeners of every loop; closed once, when the
/// last of them stops (closing it while another loop's epoll still holds it could remove a reused
/// descriptor number's registration).
final class ListeningSocket: Sendable {
    let fd: Int32
    private let holders = Atomic<Int>(0)

    init(fd: Int32) {
        self.fd = fd
    }

    func retain() {
        holders.add(1, ordering: .relaxed)
    }

    /// Drops one holder's reference; the last one closes the descriptor.
    func release() {
        if holders.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            close(fd)
        }
    }
}

/// Accepts connections for one event loop from the server's shared listening socket (registered with
/// `EPOLLEXCLUSIVE`, so one connection wakes one loop) and hands them out round-robin over all loops.
///
/// There is one socket, bound without `SO_REUSEPORT`: a port another process listens on fails the bind,
/// and no other process can join ours and take a share of its connections (issue 11, finding 6).
/// Out of descriptors (EMFILE/ENFILE), it pauses accepting with a growing backoff instead of spinning,
/// and keeps serving the connections it has. It logs a warning when it pauses and a notice when it
/// accepts a connection again (once each, not per retry).
final class Listener: SelectableChannel {
    unowned(unsafe) let loop: EventLoop
    private let socket: ListeningSocket
    /// Every loop of the server, in order: accepted connections are spread over them.
    private let loops: [EventLoop]
    private let server: ServerContext
    private var token: UInt64 = 0
    private var backoff: Duration = .milliseconds(10)
    /// Set when accepting pauses for lack of descriptors or memory, cleared by the next accepted connection:
    /// each of the two transitions is logged once, not every retry.
    private var acceptPaused = false
    private var registered = false
    private var closed = false

    var fd: Int32 { socket.fd }

    init(socket: ListeningSocket, loop: EventLoop, loops: [EventLoop], server: ServerContext) {
        self.socket = socket
        self.loop = loop
        self.loops = loops
        self.server = server
        socket.retain()
    }

    /// Registers with the loop; on the loop's thread, or before the loop starts.
    func start() throws(SocketError) {
        token = try loop.register(fd: fd, channel: self, interest: .read, exclusive: true)
        registered = true
    }

    func readable() {
        loop.assertInEventLoop()
        guard registered, !closed else { return }
        // Accept a bounded batch so one busy listener cannot starve the loop's connections.
        for _ in 0..<64 {
            let accepted: (fd: Int32, address: SocketAddress)?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOBUFS || error.errno == ENOMEM {
                    if !acceptPaused {
                        acceptPaused = true
                        server.logger.warning(
                            "\(error): accepting paused, retried with a backoff of up to 1 s; open connections are still served")
                    }
                    pause()
                }
                // ECONNABORTED and friends: the peer gave up; carry on.
                return
            }
            guard let (client, address) = accepted else { return }
            backoff = .milliseconds(10)
            if acceptPaused {
                acceptPaused = false
                server.logger.notice("accepting connections again")
            }
            let clientKey = address.hostDescription
            if case .rejected(let reason) = server.admit(clientKey: clientKey) {
                Self.reject(client, reason: reason)
                continue
            }
            Socket.setNoDelay(client)
            let target = loops[server.nextLoopIndex(of: loops.count)]
            let remoteAddress = address.description
            let server = server
            if target === loop {
                Self.startConnection(fd: client, remoteAddress: remoteAddress, clientKey: clientKey, loop: target, server: server)
            } else {
                target.execute {
                    Self.startConnection(fd: client, remoteAddress: remoteAddress, clientKey: clientKey, loop: target, server: server)
                }
            }
        }
    }

    /// On `loop`'s thread: wraps an admitted descriptor in a connection and registers it.
    private static func startConnection(fd: Int32, remoteAddress: String, clientKey: String, loop: EventLoop, server: ServerContext) {
        guard loop.isRunning else {
            // The loop is stopping: it will not serve a new connection.
            server.connectionClosed(wasWebSocket: false, clientKey: clientKey)
            close(fd)
            return
        }
        let connection = Connection(fd: fd, remoteAddress: remoteAddress, clientKey: clientKey, loop: loop, server: server)
        do {
            try connection.start()
        } catch {
            server.connectionClosed(wasWebSocket: false, clientKey: clientKey)
            close(fd)
        }
    }

    /// Answers 503 before reading the request and closes. What already arrived of the request is read
    /// first, so the close does not turn into a reset that could destroy the answer at the peer.
    private static func reject(_ fd: Int32, reason: String) {
        let response = HTTPResponse.serviceUnavailable(reason).serialized()
        _ = response.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        shutdown(fd, Int32(SHUT_WR))
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 1) { scratch in
            _ = recv(fd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT))
        }
        close(fd)
    }

    private func pause() {
        loop.assertInEventLoop()
        registered = false
        loop.deregister(fd: fd)
        let delay = backoff
        backoff = min(backoff * 2, .seconds(1))
        loop.schedule(at: .now + delay) { [weak self] in
            guard let self, !self.closed else { return }
            do {
                self.token = try self.loop.register(fd: self.fd, channel: self, interest: .read, exclusive: true)
                self.registered = true
            } catch {
                self.pause()
            }
        }
    }

    func writable() {}

    /// Stops accepting on this loop; established connections are unaffected. The shared socket closes
    /// when every loop's listener has stopped.
    func stop() {
        loop.assertInEventLoop()
        guard !closed else { return }
        closed = true
        if registered { loop.deregister(fd: fd) }
        registered = false
        socket.release()
    }

    func forceClose() {
        stop()
    }
}
