/// Why a request head was rejected, with the status to answer and a message saying what and where.
package struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400, 431 or 505.
    package let status: Int
    package let message: String

    package var description: String { "\(status): \(message)" }

    /// The response to send before closing.
    package var response: HTTPResponse { .error(status: status, message) }
}

/// An incremental parser of an HTTP/1.1 (or 1.0) request head (RFC 9112 §2–§5).
///
/// Give it the bytes received so far from the start of the request; it returns the head and the
/// number of bytes it used once the blank line has arrived (bytes after it, such as WebSocket frames,
/// are not consumed), or nil for "need more". It remembers how far it already looked for the blank
/// line, so a head arriving one byte at a time costs linear time. Lines end with CRLF; a bare LF is
/// also accepted (RFC 9112 §2.2 allows it). Obsolete line folding is rejected (§5.2).
struct HTTPHeadParser: Sendable {
    let maxHeadBytes: Int
    let maxHeaderCount: Int
    private var scanned = 0

    init(maxHeadBytes: Int = 8192, maxHeaderCount: Int = 100) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
    }

    mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (head: HTTPRequestHead, consumed: Int)? {
        guard let end = findEndOfHead(bytes) else {
            if bytes.count > maxHeadBytes { throw tooLarge() }
            return nil
        }
        if end > maxHeadBytes { throw tooLarge() }
        let head = try parseHead(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
        return (head, end)
    }

    private func tooLarge() -> HTTPParseError {
        HTTPParseError(status: 431, message: "request header fields too large (limit \(maxHeadBytes) bytes)")
    }

    /// The index just after the blank line ending the head, if present.
    private mutating func findEndOfHead(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = max(0, scanned - 3)
        let limit = min(bytes.count, maxHeadBytes + 4)
        while index < limit {
            if bytes[index] == 0x0A {
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { return index + 2 }
                if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A { return index + 3 }
            }
            index += 1
        }
        scanned = limit
        return nil
    }

    private func parseHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPRequestHead {
        var lines = HTTPLines.split(bytes)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { throw bad("empty request") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw bad("malformed request line: expected 'METHOD TARGET HTTP/1.1'")
        }
        guard parts[0].utf8.allSatisfy(Self.isTokenByte) else { throw bad("malformed request line: invalid method") }
        let version = String(parts[2])
        guard version.hasPrefix("HTTP/") else { throw bad("malformed request line: invalid version '\(version)'") }
        // HTTP/1.0 is served too (load-balancer health checks speak it); the answer is HTTP/1.1 with
        // `Connection: close`, as RFC 9110 §6.2 allows. A WebSocket upgrade still needs 1.1 (RFC 6455 §4.1).
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw HTTPParseError(status: 505, message: "HTTP version \(version) is not supported (use HTTP/1.1 or HTTP/1.0)")
        }
        guard parts[1].first == "/" || parts[1] == "*" || parts[1].hasPrefix("http") else {
            throw bad("malformed request target '\(parts[1])'")
        }
        var headers: [(name: String, value: String)] = []
        for (offset, line) in lines.dropFirst().enumerated() {
            let number = offset + 1
            if line.first == " " || line.first == "\t" { throw bad("obsolete line folding in header line \(number)") }
            guard let colon = line.firstIndex(of: ":") else { throw bad("malformed header line \(number): missing ':'") }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw bad("malformed header line \(number): invalid field name '\(name)'")
            }
            headers.append((name.lowercased(), String(line[line.index(after: colon)...].trimmingSpaces)))
            if headers.count > maxHeaderCount {
                throw HTTPParseError(status: 431, message: "too many header fields (limit \(maxHeaderCount))")
            }
        }
        return HTTPRequestHead(method: String(parts[0]), target: String(parts[1]), version: version, headers: headers)
    }

    private func bad(_ message: String) -> HTTPParseError {
        HTTPParseError(status: 400, message: message)
    }

    /// RFC 9110 §5.6.2 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

/// Splits a head into lines on LF bytes, dropping a CR before each LF. Works on bytes: in a Swift
/// `String`, CRLF is a single `Character` and would not split on "\n".
enum HTTPLines {
    static func split(_ bytes: UnsafeRawBufferPointer) -> [Substring] {
        var lines: [Substring] = []
        var start = 0
        for index in 0..<bytes.count where bytes[index] == 0x0A {
            var end = index
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            lines.append(Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)))
            start = index + 1
        }
        if start < bytes.count {
            lines.append(Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start...]), as: UTF8.self)))
        }
        return lines
    }
}
