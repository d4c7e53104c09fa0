import Foundation
import RouterClient
import RouterCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Starts a transport on 127.0.0.1:0 with an echo endpoint, runs `body`, shuts down.
func withEchoServer<R>(
    _ configure: (inout TransportConfiguration) -> Void = { _ in },
    _ body: (WebSocketServer) async throws -> R
) async throws -> R {
    var configuration = TransportConfiguration()
    configuration.port = 0
    configuration.eventLoops = 2
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

/// A raw TCP exchange: sends `request`, reads until the peer closes or `timeout`, returns what came back.
func rawExchange(port: Int, _ request: [UInt8], timeout: Duration = .seconds(5)) throws -> [UInt8] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw RawSocketError(description: "connect failed: errno \(errno)") }
    var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    if !request.isEmpty {
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        received.append(contentsOf: chunk[0..<count])
    }
    return received
}

struct RawSocketError: Error, CustomStringConvertible {
    let description: String
}

extension Array where Element == UInt8 {
    /// The bytes as text (for HTTP responses).
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// An upgrade request with the given headers replacing the defaults.
func upgradeRequest(path: String = "/ws/echo", overriding: [String: String?] = [:]) -> [UInt8] {
    var headers: [(String, String)] = [
        ("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]
    for (name, value) in overriding {
        headers.removeAll { $0.0.lowercased() == name.lowercased() }
        if let value { headers.append((name, value)) }
    }
    var text = "GET \(path) HTTP/1.1\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    text += "\r\n"
    return Array(text.utf8)
}

/// A blocking raw client that can upgrade and then stop reading (a slow consumer).
final class RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var size: Int32 = 64 << 10
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw RawSocketError(description: "connect failed: errno \(errno)") }
    }

    deinit { close(fd) }

    /// Sends the upgrade and reads the 101 response head (and nothing more).
    func upgrade(path: String) throws {
        let request = upgradeRequest(path: path)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !(head.count >= 4 && Array(head.suffix(4)) == [13, 10, 13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { throw RawSocketError(description: "no upgrade response") }
            head.append(byte)
        }
        guard head.text.hasPrefix("HTTP/1.1 101") else { throw RawSocketError(description: head.text) }
    }

    func sendText(_ text: String) throws {
        let frame = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: Array(text.utf8)), maskingKey: (9, 8, 7, 6))
        _ = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
