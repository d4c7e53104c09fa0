import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// Non-blocking TCP socket operations on a raw descriptor. The owner closes it exactly once.
enum Socket {
    /// Ignores SIGPIPE process-wide, once: Linux `writev` has no `MSG_NOSIGNAL`, so a write to a peer
    /// that reset would otherwise kill the process.
    static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Creates a listening socket bound to `host:port` (IPv4 or IPv6 literal, or "localhost").
    ///
    /// `SO_REUSEADDR` only (restarts while old connections sit in TIME_WAIT); never `SO_REUSEPORT`, which
    /// would let another process of the same user bind the port too and take a share of its connections.
    static func makeListener(host: String, port: Int, backlog: Int32 = 1024) throws(SocketError) -> Int32 {
        _ = ignoreSIGPIPE
        let address = try SocketAddress(host: host, port: port)
        let fd = Int32(try retryingSyscall("socket") {
            Int(socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0))
        })
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            _ = try address.withSockAddr { pointer, length throws(SocketError) in
                try retryingSyscall("bind to \(host):\(port)") { Int(bind(fd, pointer, length)) }
            }
            _ = try retryingSyscall("listen") { Int(listen(fd, backlog)) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The port a socket is bound to.
    static func localPort(_ fd: Int32) throws(SocketError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SocketError) in
                try retryingSyscall("getsockname") { Int(getsockname(fd, raw, &length)) }
            }
        }
        return SocketAddress(storage: storage).port
    }

    /// Accepts one connection (non-blocking, close-on-exec). Returns nil when none is pending.
    static func accept(_ listener: Int32) throws(SocketError) -> (fd: Int32, address: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SocketError) in
                try nonBlockingSyscall("accept4") {
                    Int(accept4(listener, raw, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)))
                }
            }
        }
        switch result {
        case .wouldBlock: return nil
        case .processed(let fd): return (Int32(fd), SocketAddress(storage: storage))
        }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SocketError) {
        var value = value
        _ = try retryingSyscall("setsockopt") {
            Int(setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)))
        }
    }

    /// Makes the coming `close` reset the connection (`SO_LINGER` 0): for a peer that overstayed its deadline.
    static func resetOnClose(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// An IPv4 or IPv6 socket address.
struct SocketAddress: CustomStringConvertible {
    private var storage: sockaddr_storage

    init(storage: sockaddr_storage) { self.storage = storage }

    init(host: String, port: Int) throws(SocketError) {
        guard (0...65535).contains(port) else { throw SocketError("port \(port) out of range", errno: EINVAL) }
        storage = sockaddr_storage()
        let name = host == "localhost" ? "127.0.0.1" : host
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in.self) }
        } else if inet_pton(AF_INET6, name, &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = v6
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in6.self) }
        } else {
            throw SocketError("parse address '\(host)' (expected an IPv4 or IPv6 literal)", errno: EINVAL)
        }
    }

    var family: Int32 { Int32(storage.ss_family) }

    var port: Int {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                return Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            }
            return Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
        }
    }

    /// The address without the port, e.g. `127.0.0.1` or `::1`.
    var hostDescription: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
            } else {
                var address = raw.load(as: sockaddr_in.self).sin_addr
                inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
            }
            return Self.string(buffer)
        }
    }

    var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
                return "[\(Self.string(buffer))]:\(port)"
            }
            var address = raw.load(as: sockaddr_in.self).sin_addr
            inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
            return "\(Self.string(buffer)):\(port)"
        }
    }

    private static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SocketError) -> R) throws(SocketError) -> R {
        var copy = storage
        let length = socklen_t(family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        return try withUnsafePointer(to: &copy) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SocketError) in
                try body(raw, length)
            }
        }
    }
}
