import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on one event loop (one per loop with SO_REUSEPORT): accepts connections and
/// registers them with the same loop. Out of descriptors (EMFILE/ENFILE), it pauses accepting with
/// a growing backoff instead of spinning, and keeps serving the connections it has.
final class Listener: SelectableChannel {
    unowned(unsafe) let loop: EventLoop
    let fd: Int32
    private let server: ServerContext
    private var token: UInt64 = 0
    private var backoff: Duration = .milliseconds(10)
    private var paused = false
    private var closed = false

    init(fd: Int32, loop: EventLoop, server: ServerContext) {
        self.fd = fd
        self.loop = loop
        self.server = server
    }

    func start() throws(SocketError) {
        token = try loop.register(fd: fd, channel: self, interest: .read)
    }

    func readable() {
        guard !paused, !closed else { return }
        // Accept a bounded batch so one busy listener cannot starve the loop's connections.
        for _ in 0..<64 {
            let accepted: (fd: Int32, address: SocketAddress)?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOBUFS || error.errno == ENOMEM {
                    pause()
                }
                // ECONNABORTED and friends: the peer gave up; carry on.
                return
            }
            guard let (client, address) = accepted else { return }
            backoff = .milliseconds(10)
            let count = server.acceptedConnections.add(1, ordering: .relaxed).newValue
            if count > server.configuration.maxConnections {
                server.acceptedConnections.subtract(1, ordering: .relaxed)
                let response = HTTPResponse.serviceUnavailable("server is at its connection limit").serialized()
                _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
                continue
            }
            Socket.setNoDelay(client)
            let connection = Connection(fd: client, remoteAddress: address.description, loop: loop, server: server)
            do {
                try connection.start()
            } catch {
                server.acceptedConnections.subtract(1, ordering: .relaxed)
                close(client)
            }
        }
    }

    private func pause() {
        paused = true
        loop.deregister(fd: fd)
        let delay = backoff
        backoff = min(backoff * 2, .seconds(1))
        loop.schedule(at: .now + delay) { [weak self] in
            guard let self, !self.closed else { return }
            self.paused = false
            do {
                self.token = try self.loop.register(fd: self.fd, channel: self, interest: .read)
            } catch {
                self.pause()
            }
        }
    }

    func writable() {}

    /// Stops accepting; established connections are unaffected.
    func stop() {
        guard !closed else { return }
        closed = true
        if !paused { loop.deregister(fd: fd) }
        close(fd)
    }

    func forceClose() {
        stop()
    }
}
