/// A parsed HTTP/1.1 request head (RFC 9112 §3): request line and header fields.
package struct HTTPRequestHead: Sendable {
    /// The method, e.g. `GET`.
    package var method: String
    /// The request target as sent, e.g. `/ws/memory?compress=gzip`.
    package var target: String
    /// The percent-decoded path without the query, e.g. `/ws/memory`.
    package var path: String
    /// Percent-decoded query parameters (`+` is a space); the last value wins for repeated names.
    package var query: [String: String]
    /// The protocol version, e.g. `HTTP/1.1`.
    package var version: String
    /// Header fields with lower-cased names and trimmed values, in arrival order.
    package var headers: [(name: String, value: String)]

    package init(method: String, target: String, version: String = "HTTP/1.1", headers: [(name: String, value: String)]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = PercentDecoding.decode(String(parts.first ?? ""), plusAsSpace: false)
        query = parts.count > 1 ? PercentDecoding.query(String(parts[1])) : [:]
    }

    /// The first value of a header (case-insensitive name).
    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.name == lower })?.value
    }

    /// Every value of a header, in order.
    package func headerValues(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name == lower }.map(\.value)
    }

    /// Whether a comma-separated header (e.g. `Connection: keep-alive, Upgrade`) carries `token`, case-insensitively.
    package func hasToken(_ token: String, inHeader name: String) -> Bool {
        let wanted = token.lowercased()
        return headerValues(name).contains { value in
            value.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == wanted }
        }
    }
}

extension UpgradeRequest {
    /// The upgrade request as the services see it.
    package init(head: HTTPRequestHead, remoteAddress: String) {
        self.init(path: head.path, query: head.query, headers: head.headers, remoteAddress: remoteAddress)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}

enum PercentDecoding {
    /// Decodes `%XX` escapes (invalid escapes are kept as they are), and `+` as space when asked.
    static func decode(_ text: String, plusAsSpace: Bool) -> String {
        guard text.contains("%") || (plusAsSpace && text.contains("+")) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func query(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0]), plusAsSpace: true)
            result[name] = parts.count > 1 ? decode(String(parts[1]), plusAsSpace: true) : ""
        }
        return result
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
