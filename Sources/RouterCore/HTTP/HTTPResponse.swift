/// A small HTTP/1.1 response: status, headers and a body, serialized with `Content-Length`.
package struct HTTPResponse: Sendable, Equatable {
    package var status: Int
    package var reason: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(status: Int, reason: String? = nil, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.reason = reason ?? Self.reasonPhrase(status)
        self.headers = headers
        self.body = body
    }

    package static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.reason == rhs.reason && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    /// The first value of a header (case-insensitive name).
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The bytes on the wire. Responses other than 101 always carry `Content-Length`; without
    /// `includeBody` (the answer to `HEAD`, RFC 9110 §9.3.2) it still gives the body's length.
    package func serialized(includeBody: Bool = true) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if status != 101 && !headers.contains(where: { $0.name.lowercased() == "content-length" }) {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        return includeBody ? Array(text.utf8) + body : Array(text.utf8)
    }

    /// 101: the WebSocket upgrade (RFC 6455 §4.2.2), with the agreed extensions if any.
    package static func switchingProtocols(acceptKey: String, extensions: String? = nil) -> HTTPResponse {
        var headers: [(name: String, value: String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptKey),
        ]
        if let extensions { headers.append(("Sec-WebSocket-Extensions", extensions)) }
        return HTTPResponse(status: 101, headers: headers)
    }

    /// A 200 (or other status) with a body and content type.
    package static func ok(_ body: [UInt8], contentType: String, extraHeaders: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", contentType)] + extraHeaders + [("Connection", "close")], body: body)
    }

    /// A JSON response.
    package static func json(status: Int = 200, _ body: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store"), ("Connection", "close")],
            body: Array(body.utf8))
    }

    /// An error response with a short plain-text body saying why; the connection is closed after it.
    package static func error(status: Int, _ message: String, extraHeaders: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8")] + extraHeaders + [("Connection", "close")],
            body: Array((message + "\n").utf8))
    }

    package static func badRequest(_ message: String) -> HTTPResponse { .error(status: 400, message) }
    package static func unauthorized(_ message: String) -> HTTPResponse {
        .error(status: 401, message, extraHeaders: [("WWW-Authenticate", "Bearer")])
    }
    package static func forbidden(_ message: String) -> HTTPResponse { .error(status: 403, message) }
    package static func notFound(_ message: String) -> HTTPResponse { .error(status: 404, message) }
    package static func methodNotAllowed(_ message: String) -> HTTPResponse {
        .error(status: 405, message, extraHeaders: [("Allow", "GET")])
    }
    package static func requestTimeout() -> HTTPResponse { .error(status: 408, "request head not received in time") }
    package static func upgradeRequired(_ message: String) -> HTTPResponse {
        .error(status: 426, message, extraHeaders: [("Sec-WebSocket-Version", "13")])
    }
    package static func serviceUnavailable(_ message: String) -> HTTPResponse { .error(status: 503, message) }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 101: "Switching Protocols"
        case 200: "OK"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 426: "Upgrade Required"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
