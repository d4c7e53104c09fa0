import Foundation
import RouterCore

/// Serves the dashboard's static files (embedded resources, or a directory from the config)
/// with content types and caching headers. Paths never escape the root.
struct StaticFiles: Sendable {
    let root: URL

    /// The dashboard bundled with the host.
    static func embedded() -> StaticFiles? {
        guard let url = Bundle.module.url(forResource: "dashboard", withExtension: nil) else { return nil }
        return StaticFiles(root: url)
    }

    func respond(to head: HTTPRequestHead) -> HTTPResponse? {
        var path = head.path
        if path == "/" { path = "/index.html" }
        let components = path.split(separator: "/")
        guard !components.isEmpty, !components.contains(where: { $0 == ".." || $0.hasPrefix(".") }) else { return nil }
        let url = components.reduce(root) { $0.appendingPathComponent(String($1)) }
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let type = Self.contentType(for: url.pathExtension)
        // HTML revalidates every time (so a new host version shows at once); assets may be cached briefly.
        let cache = url.pathExtension == "html" ? "no-cache" : "public, max-age=300"
        var response = HTTPResponse.ok(Array(data), contentType: type, extraHeaders: [("Cache-Control", cache), ("X-Content-Type-Options", "nosniff")])
        if head.method == "HEAD" {
            response.headers.append(("Content-Length", String(data.count)))
            response.body = []
        }
        return response
    }

    static func contentType(for fileExtension: String) -> String {
        switch fileExtension.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "json": "application/json"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        default: "application/octet-stream"
        }
    }
}
