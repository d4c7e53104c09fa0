import Foundation
import RouterClient
import RouterCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Starts a transport on 127.0.0.1:0 with an echo endpoint and `/healthz`, runs `body`, shuts down.
func withAbuseServer<R>(
    _ configure: (inout TransportConfiguration) -> Void = { _ in },
    _ body: (WebSocketServer) async throws -> R
) async throws -> R {
    var configuration = TransportConfiguration()
    configuration.port = 0
    configuration.eventLoops = 1  // Attacker and bystander share one loop: the harshest case.
    configuration.echoPath = "/ws/echo"
    configuration.httpResponder = { head in
        head.path == "/healthz" ? .json(status: 200, #"{"status":"ok"}"#) : nil
    }
    configure(&configuration)
    let server = try WebSocketServer.start(configuration)
    do {
        let result = try await body(server)
        await server.shutdown(drainTimeout: .milliseconds(500))
        return result
    } catch {
        await server.shutdown(drainTimeout: .milliseconds(500))
        throw error
    }
}

struct AbuseFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// A blocking TCP client for attacks: raw bytes in and out, with timeouts so a test fails instead of hanging.
final class RawPeer: @unchecked Sendable {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`, optionally from `source` (another loopback address, e.g. 127.0.0.2).
    init(port: Int, source: String? = nil, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AbuseFailure("socket failed: errno \(errno)") }
        if let receiveBuffer {
            var size = receiveBuffer
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { close(fd); throw AbuseFailure("bind to \(source) failed: errno \(errno)") }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw AbuseFailure("connect failed: errno \(errno)") }
        setTimeouts(receive: .seconds(10), send: .seconds(10))
    }

    deinit { close(fd) }

    func setTimeouts(receive: Duration, send: Duration) {
        for (option, duration) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            let (seconds, attoseconds) = duration.components
            var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Sends everything; throws with the errno when the peer resets or the send times out.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw AbuseFailure("send failed: errno \(errno)")
            }
            offset += count
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads until the peer ends its stream (or resets, or the receive timeout passes); returns what arrived.
    func readToEnd() -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received.append(contentsOf: chunk[0..<count])
        }
        return received
    }

    /// Reads an HTTP response head (up to the blank line) and nothing more.
    func readHead() throws -> String {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !(head.count >= 4 && Array(head.suffix(4)) == [13, 10, 13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { throw AbuseFailure("no complete response head: \(head.text)") }
            head.append(byte)
        }
        return head.text
    }

    /// Waits until the server has dropped the connection entirely (POLLHUP: reset or both directions shut),
    /// without closing our side. Returns false if that did not happen within `timeout`.
    func waitForHangup(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: fd, events: 0x2000 /* POLLRDHUP */, revents: 0)
            let remaining = ContinuousClock.now.duration(to: deadline)
            let millis = max(1, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&descriptor, 1, millis)
            if ready > 0, descriptor.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
            if ready > 0 {
                // Only the read side ended (FIN): drain and keep waiting for the full hang-up.
                var scratch = [UInt8](repeating: 0, count: 4096)
                let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count == 0 {
                    // Peer FIN already seen: poll would keep reporting POLLIN|POLLRDHUP; wait on HUP alone.
                    var hangup = pollfd(fd: fd, events: 0, revents: 0)
                    let left = ContinuousClock.now.duration(to: deadline)
                    let ms = max(1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                    return poll(&hangup, 1, ms) > 0 && hangup.revents & Int16(POLLHUP | POLLERR) != 0
                }
            }
        }
        return false
    }

    /// Sends a WebSocket upgrade for `path` with extra headers and returns the response head.
    func upgrade(path: String = "/ws/echo", headers: [(String, String)] = []) throws -> String {
        try send(upgradeRequest(path: path, headers: headers))
        return try readHead()
    }
}

/// An upgrade request; `headers` are added after the required ones.
func upgradeRequest(path: String = "/ws/echo", host: String = "127.0.0.1", headers: [(String, String)] = []) -> [UInt8] {
    var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    text += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    text += "\r\n"
    return Array(text.utf8)
}

/// A masked client frame.
func clientFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    FrameEncoder.encode(WebSocketFrame(fin: fin, opcode: opcode, payload: payload), maskingKey: (0x11, 0x22, 0x33, 0x44))
}

/// A well-behaved client on another connection: echo round trips, each of which must come back in time.
struct Bystander {
    let client: WebSocketClient

    init(port: Int) throws {
        client = try WebSocketClient.connect(port: port, path: "/ws/echo")
    }

    /// Sends `count` messages one after the other; throws if any answer takes longer than `timeout`.
    /// Returns the slowest round trip.
    @discardableResult
    func roundTrips(_ count: Int, timeout: Duration = .seconds(15)) async throws -> Duration {
        var slowest = Duration.zero
        for index in 0..<count {
            let start = ContinuousClock.now
            try client.send(text: "bystander \(index)")
            while true {
                let event = try await client.next(timeout: timeout)
                if event == .text("bystander \(index)") { break }
                if case .ping = event { continue }
                throw AbuseFailure("bystander got \(String(describing: event)) instead of its echo \(index)")
            }
            slowest = max(slowest, ContinuousClock.now - start)
        }
        return slowest
    }
}

/// Runs a blocking attack on its own thread until it returns or `stop` is set.
final class AttackThread: @unchecked Sendable {
    let stop = Atomic<Bool>(false)
    private let done = Locked<(finished: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init(_ body: @escaping @Sendable (AttackThread) -> Void) {
        let thread = Thread { [self] in
            body(self)
            let waiter = done.withLock { state -> CheckedContinuation<Void, Never>? in
                state.finished = true
                return state.waiter
            }
            waiter?.resume()
        }
        thread.start()
    }

    var isRunning: Bool { !done.withLock { $0.finished } }

    /// Asks the attack to stop and waits for its thread to end.
    func stopAndWait() async {
        stop.store(true, ordering: .relaxed)
        await withCheckedContinuation { continuation in
            let finished = done.withLock { state -> Bool in
                if state.finished { return true }
                state.waiter = continuation
                return false
            }
            if finished { continuation.resume() }
        }
    }
}
