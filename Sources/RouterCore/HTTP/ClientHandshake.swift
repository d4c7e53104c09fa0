/// An HTTP response head, as a WebSocket client reads it.
package struct HTTPResponseHead: Sendable {
    package var status: Int
    package var reason: String
    /// Header fields with lower-cased names.
    package var headers: [(name: String, value: String)]

    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    package func headerValues(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name == lower }.map(\.value)
    }
}

/// An incremental parser of an HTTP/1.1 response head (for clients).
package struct HTTPResponseHeadParser: Sendable {
    private let maxHeadBytes: Int

    package init(maxHeadBytes: Int = 16 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Returns the head and the bytes it used once complete, nil when more bytes are needed.
    package mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (head: HTTPResponseHead, consumed: Int)? {
        var end: Int?
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 0x0A, bytes[index + 1] == 0x0A { end = index + 2; break }
            if bytes[index] == 0x0A, index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A { end = index + 3; break }
            index += 1
        }
        guard let end else {
            if bytes.count > maxHeadBytes { throw HTTPParseError(status: 431, message: "response head too large") }
            return nil
        }
        // The limit holds however the bytes were chunked: a complete head longer than it is rejected too.
        if end > maxHeadBytes { throw HTTPParseError(status: 431, message: "response head too large") }
        var lines = HTTPLines.split(UnsafeRawBufferPointer(rebasing: bytes[0..<end])).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw HTTPParseError(status: 400, message: "empty response") }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw HTTPParseError(status: 400, message: "malformed status line '\(statusLine)'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw HTTPParseError(status: 400, message: "malformed header line '\(line)'")
            }
            headers.append((line[..<colon].lowercased(), String(line[line.index(after: colon)...].trimmingSpaces)))
        }
        return (HTTPResponseHead(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers), end)
    }
}

/// Why the server's answer to an upgrade is not acceptable.
package struct ClientHandshakeError: Error, Sendable, CustomStringConvertible {
    package let description: String
}

/// The client side of the RFC 6455 §4.1 opening handshake.
package enum ClientHandshake {
    /// A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes.
    package static func randomKey() -> String {
        Base64.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
    }

    /// The upgrade request's bytes.
    package static func request(host: String, port: Int, path: String, key: String, extraHeaders: [(String, String)] = []) -> [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Checks a 101 answer (status, `Upgrade`, `Connection`, accept key) and returns its extension values.
    package static func validate(_ response: HTTPResponseHead, key: String) throws(ClientHandshakeError) -> [String] {
        guard response.status == 101 else { throw ClientHandshakeError(description: "expected status 101, got \(response.status)") }
        guard response.header("upgrade")?.lowercased() == "websocket" else {
            throw ClientHandshakeError(description: "missing 'Upgrade: websocket' in the response")
        }
        guard response.header("connection")?.lowercased().contains("upgrade") == true else {
            throw ClientHandshakeError(description: "missing 'Connection: Upgrade' in the response")
        }
        guard response.header("sec-websocket-accept") == UpgradeHandshake.acceptKey(for: key) else {
            throw ClientHandshakeError(description: "wrong Sec-WebSocket-Accept")
        }
        return response.headerValues("sec-websocket-extensions")
    }
}
