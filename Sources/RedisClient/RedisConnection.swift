#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to Redis, used by one thread at a time: blocking calls with deadlines (`poll`), so
/// it belongs on a dedicated thread (``RedisClient`` owns one), never on an event loop or the cooperative pool.
///
/// ``pipeline(_:timeout:)`` writes every command, then reads one reply per command: one round trip for the
/// batch. Any link failure (timeout, reset, protocol violation) closes the connection, because replies could
/// no longer be matched with commands; the caller reconnects.
public final class RedisConnection {
    /// The server this connection talks to.
    public let endpoint: RedisEndpoint
    private var fd: Int32
    private var parser = RESPParser()
    private var readBuffer = [UInt8](repeating: 0, count: 64 << 10)

    private init(endpoint: RedisEndpoint, fd: Int32) {
        self.endpoint = endpoint
        self.fd = fd
    }

    deinit { close() }

    /// True until the connection failed or was closed.
    public var isOpen: Bool { fd >= 0 }

    /// Connects within `connectTimeout`, then sends `AUTH` (when the endpoint has a password) and `SELECT`
    /// (database ≠ 0) within `commandTimeout`.
    /// - Throws: ``RedisError``: `.connectFailed`, `.timeout`, `.authenticationFailed`, `.server`.
    public static func connect(
        to endpoint: RedisEndpoint, connectTimeout: Duration, commandTimeout: Duration
    ) throws(RedisError) -> RedisConnection {
        let fd = try openSocket(endpoint, timeout: connectTimeout)
        let connection = RedisConnection(endpoint: endpoint, fd: fd)
        var setup: [RedisCommand] = []
        if let password = endpoint.password {
            setup.append(
                endpoint.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if endpoint.database != 0 { setup.append(RedisCommand("SELECT", String(endpoint.database))) }
        guard !setup.isEmpty else { return connection }
        let replies = try connection.pipeline(setup, timeout: commandTimeout)
        for (command, reply) in zip(setup, replies) {
            if case .error(let message) = reply {
                connection.close()
                if command.name == "AUTH" { throw .authenticationFailed(message) }
                throw .server("\(command.name) \(endpoint.database): \(message)")
            }
        }
        return connection
    }

    /// Sends `commands` in one write and returns their replies in order (error replies are values).
    /// - Throws: ``RedisError`` `.timeout` (no complete replies by the deadline), `.connectionLost`,
    ///   `.protocolViolation`, `.closed`; the connection is closed after any of them.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration) throws(RedisError) -> [RESPValue] {
        guard fd >= 0 else { throw .closed }
        let what = commands.count == 1 ? commands[0].description : "a pipeline of \(commands.count) commands"
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        for command in commands { command.encode(into: &bytes) }
        do throws(RedisError) {
            try write(bytes, deadline: deadline, what: what, timeout: timeout)
            var replies: [RESPValue] = []
            replies.reserveCapacity(commands.count)
            while replies.count < commands.count {
                if let reply = try nextParsed() {
                    replies.append(reply)
                    continue
                }
                try readSome(deadline: deadline, what: what, timeout: timeout)
            }
            return replies
        } catch {
            close()
            throw error
        }
    }

    /// One command, one reply (an error reply is returned as a value).
    public func send(_ command: RedisCommand, timeout: Duration) throws(RedisError) -> RESPValue {
        try pipeline([command], timeout: timeout)[0]
    }

    /// Closes the socket (idempotent).
    public func close() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    private func nextParsed() throws(RedisError) -> RESPValue? {
        do {
            return try parser.next()
        } catch {
            throw .protocolViolation(error)
        }
    }

    private func wait(for events: Int16, deadline: ContinuousClock.Instant, what: String, timeout: Duration) throws(RedisError) {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw .timeout(what: what, after: timeout) }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(clamping: max(1, RedisError.milliseconds(left)))
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0, errno != EINTR {
                throw .connectionLost(what: what, reason: String(cString: strerror(errno)))
            }
        }
    }

    private func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant, what: String, timeout: Duration) throws(RedisError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
            } else if written < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                try wait(for: Int16(POLLOUT), deadline: deadline, what: what, timeout: timeout)
            } else if written < 0, errno == EINTR {
                continue
            } else {
                throw .connectionLost(what: what, reason: String(cString: strerror(errno)))
            }
        }
    }

    private func readSome(deadline: ContinuousClock.Instant, what: String, timeout: Duration) throws(RedisError) {
        while true {
            let count = readBuffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress, raw.count, 0) }
            if count > 0 {
                parser.append(readBuffer[0..<count])
                return
            }
            if count == 0 { throw .connectionLost(what: what, reason: "the server closed the connection") }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLIN), deadline: deadline, what: what, timeout: timeout)
            default: throw .connectionLost(what: what, reason: String(cString: strerror(errno)))
            }
        }
    }

    private static func openSocket(_ endpoint: RedisEndpoint, timeout: Duration) throws(RedisError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let first = list else {
            throw .connectFailed(address: endpoint.address, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        let deadline = ContinuousClock.now + timeout
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                _ = Glibc.close(fd)
                continue
            }
            let left = ContinuousClock.now.duration(to: deadline)
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = left > .zero ? poll(&entry, 1, Int32(clamping: max(1, RedisError.milliseconds(left)))) : 0
            if ready == 0 {
                _ = Glibc.close(fd)
                throw .timeout(what: "connect to \(endpoint.address)", after: timeout)
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if ready > 0, error == 0 { return fd }
            lastError = String(cString: strerror(error != 0 ? error : errno))
            _ = Glibc.close(fd)
        }
        throw .connectFailed(address: endpoint.address, reason: lastError)
    }
}
