import Foundation
package import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// A minimal WebSocket client over a blocking socket with a reader thread: the client side of the
/// codec (masking, client handshake, permessage-deflate as a client). Used by the tests, the
/// benchmarks and ``RouterClient``.
package final class WebSocketClient: Sendable {
    /// What arrives from the server.
    package enum Event: Sendable, Equatable {
        case text(String)
        case binary([UInt8])
        case ping([UInt8])
        case pong([UInt8])
        /// The server's close frame (code nil when it carried none).
        case close(code: UInt16?, reason: String)
        /// The TCP connection ended (after a close frame or without one).
        case disconnected
    }

    /// Why connecting failed.
    package struct ConnectError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Options for ``connect(host:port:path:options:)``.
    package struct Options: Sendable {
        /// Extra request headers (e.g. `Origin`, `Authorization`).
        package var headers: [(String, String)] = []
        /// Offer permessage-deflate.
        package var offerDeflate = false
        /// Answer server pings automatically (turn off to play a dead peer).
        package var answerPings = true
        /// Largest message accepted from the server.
        package var maxMessageBytes = 64 << 20
        /// Longest time allowed for the TCP connect and the upgrade response; nil waits as long as the kernel does.
        package var connectTimeout: Duration?
        package init() {}
    }

    private let fd: Int32
    /// Held while writing; the reader thread takes it before closing the fd, so no write can reach a
    /// closed (and possibly reused) descriptor. It guards an unused `Int` rather than `()`: ThreadSanitizer
    /// reported accesses to a zero-sized guarded value, made under the lock, as races on the lock object.
    private let writeLock = Locked(0)
    /// Whether `fd` is still open. Guards `shutdown` against a concurrent close (lock order: writeLock, then fdOpen).
    private let fdOpen = Locked(true)
    private let deflate: PerMessageDeflateCodec.Box?
    private let options: Options
    /// The HTTP response head of the upgrade.
    package let responseHead: HTTPResponseHead
    private let inbox = EventInbox<Event>()

    /// Connects, performs the upgrade and starts the reader thread.
    /// A non-101 answer throws ``HTTPRejection`` carrying the status and body.
    package static func connect(host: String = "127.0.0.1", port: Int, path: String, options: Options = Options()) throws -> WebSocketClient {
        let fd = try openSocket(host: host, port: port, timeout: options.connectTimeout)
        do {
            let key = ClientHandshake.randomKey()
            var headers = options.headers
            if options.offerDeflate {
                headers.append(("Sec-WebSocket-Extensions", PerMessageDeflateNegotiation.clientOffer()))
            }
            let request = ClientHandshake.request(host: host, port: port, path: path, key: key, extraHeaders: headers)
            try writeAll(fd, request)
            var parser = HTTPResponseHeadParser()
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    throw ConnectError(description: count < 0 ? "handshake: errno \(errno)" : "connection closed during the handshake")
                }
                buffer.append(contentsOf: chunk[0..<count])
                let parsed = try buffer.withUnsafeBytes { try parser.parse($0) }
                if let (head, consumed) = parsed {
                    if head.status != 101 {
                        let body = String(decoding: buffer[consumed...], as: UTF8.self)
                        throw HTTPRejection(status: head.status, body: body)
                    }
                    let extensions = try ClientHandshake.validate(head, key: key)
                    var codec: PerMessageDeflateCodec?
                    if options.offerDeflate, let value = extensions.first {
                        let parameters = try PerMessageDeflateNegotiation.acceptResponse(headerValue: value, offered: .init())
                        codec = try PerMessageDeflateCodec(parameters: parameters, role: .client, configuration: .init())
                    }
                    let leftover = Array(buffer[consumed...])
                    if options.connectTimeout != nil { setTimeouts(fd, nil) }
                    return WebSocketClient(fd: fd, head: head, leftover: leftover, codec: codec, options: options)
                }
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    private init(fd: Int32, head: HTTPResponseHead, leftover: [UInt8], codec: PerMessageDeflateCodec?, options: Options) {
        self.fd = fd
        self.responseHead = head
        self.options = options
        self.deflate = codec.map { PerMessageDeflateCodec.Box($0) }
        let thread = Thread { [self] in
            readLoop(leftover: leftover)
        }
        thread.start()
    }

    // No deinit: the reader thread holds `self` until it has closed the fd, exactly once.

    /// The socket's descriptor (for tests that check it is closed).
    package var socketDescriptor: Int32 { fd }

    /// Whether permessage-deflate was agreed.
    package var usesDeflate: Bool { deflate != nil }

    /// The next event from the server, in order; after `.disconnected`, nil. Throws if none arrives within `timeout`.
    package func next(timeout: Duration = .seconds(10)) async throws -> Event? {
        try await inbox.next(timeout: timeout)
    }

    /// Sends a text message (compressed when deflate was agreed and `compress` is true).
    package func send(text: String, compress: Bool = true) throws {
        try sendMessage(opcode: .text, payload: Array(text.utf8), compress: compress)
    }

    /// Sends a binary message.
    package func send(binary: [UInt8], compress: Bool = true) throws {
        try sendMessage(opcode: .binary, payload: binary, compress: compress)
    }

    /// Sends one frame as given (masked), for protocol tests.
    package func send(frame: WebSocketFrame) throws {
        try sendRaw(FrameEncoder.encode(frame, maskingKey: Self.randomMask()))
    }

    /// Writes raw bytes on the socket (for malformed-input tests).
    package func sendRaw(_ bytes: [UInt8]) throws {
        try writeLock.withLock { _ in
            guard fdOpen.withLock({ $0 }) else { throw ConnectError(description: "send: the connection is closed") }
            try Self.writeAll(fd, bytes)
        }
    }

    /// Sends a close frame.
    package func close(code: UInt16 = 1000, reason: String = "") throws {
        try send(frame: WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code: CloseCode(code: code), reason: reason)))
    }

    /// Drops the TCP connection without a close frame. The reader thread then ends (`.disconnected`
    /// follows) and closes the socket; calling this again, or after the peer closed, does nothing.
    package func disconnect() {
        fdOpen.withLock { open in
            if open { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes the socket, exactly once: wakes a blocked writer, waits for it, then closes.
    private func closeSocket() {
        disconnect()
        writeLock.withLock { _ in
            fdOpen.withLock { open in
                guard open else { return }
                open = false
                Glibc.close(fd)
            }
        }
    }

    private func sendMessage(opcode: WebSocketOpcode, payload: [UInt8], compress: Bool) throws {
        if compress, let deflate {
            let compressed = deflate.withLock { codec in payload.withUnsafeBytes { codec.deflate($0) } }
            try send(frame: WebSocketFrame(rsv1: true, opcode: opcode, payload: compressed))
        } else {
            try send(frame: WebSocketFrame(opcode: opcode, payload: payload))
        }
    }

    private static func randomMask() -> (UInt8, UInt8, UInt8, UInt8) {
        (UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255))
    }

    private func readLoop(leftover: [UInt8]) {
        let continuation = inbox
        var decoder = FrameDecoder(role: .client, maxFramePayload: options.maxMessageBytes)
        decoder.allowsRSV1 = deflate != nil
        var assembler = MessageAssembler(maxMessageBytes: options.maxMessageBytes, inflater: deflate?.unsafeCodec)
        var buffer = leftover
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        defer {
            closeSocket()
            continuation.yield(.disconnected)
            continuation.finish()
        }
        while true {
            var offset = 0
            do {
                while let (frame, used) = try buffer.withUnsafeBytes({ raw in
                    try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                }) {
                    offset += used
                    guard let event = try assembler.push(frame) else { continue }
                    switch event {
                    case .message(.text(let bytes)): continuation.yield(.text(String(decoding: bytes, as: UTF8.self)))
                    case .message(.binary(let bytes)): continuation.yield(.binary(bytes))
                    case .ping(let payload):
                        continuation.yield(.ping(payload))
                        if options.answerPings { try? send(frame: WebSocketFrame(opcode: .pong, payload: payload)) }
                    case .pong(let payload): continuation.yield(.pong(payload))
                    case .close(let code, let reason): continuation.yield(.close(code: code?.code, reason: reason))
                    }
                }
            } catch {
                continuation.yield(.close(code: nil, reason: "client-side protocol error: \(error)"))
                return
            }
            if offset > 0 { buffer.removeSubrange(0..<offset) }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    /// Sets (or, with nil, clears) the socket's send and receive timeouts; on Linux `SO_SNDTIMEO` also bounds `connect`.
    private static func setTimeouts(_ fd: Int32, _ timeout: Duration?) {
        let micros = timeout.map { max(1, $0.components.seconds * 1_000_000 + $0.components.attoseconds / 1_000_000_000_000) } ?? 0
        var value = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func openSocket(host: String, port: Int, timeout: Duration?) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectError(description: "socket: errno \(errno)") }
        if let timeout { setTimeouts(fd, timeout) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            Glibc.close(fd)
            throw ConnectError(description: "not an IPv4 address: \(host)")
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw ConnectError(description: "connect to \(host):\(port): errno \(code)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConnectError(description: "send: errno \(errno)")
            }
            offset += count
        }
    }
}

/// The server answered the upgrade with something other than 101.
public struct HTTPRejection: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let body: String
    public var description: String { "HTTP \(status): \(body)" }
}

extension PerMessageDeflateCodec {
    /// Serializes access to a loop-confined codec from the client's writer and reader threads.
    final class Box: @unchecked Sendable {
        private let lock = Locked(0)
        let unsafeCodec: PerMessageDeflateCodec
        init(_ codec: PerMessageDeflateCodec) { unsafeCodec = codec }
        func withLock<R>(_ body: (PerMessageDeflateCodec) -> R) -> R {
            lock.withLock { _ in body(unsafeCodec) }
        }
    }
}
