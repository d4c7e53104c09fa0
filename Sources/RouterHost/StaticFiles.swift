import Foundation
import RouterCore

/// Serves the dashboard's static files (embedded resources, or a directory from the config)
/// with content types and caching headers. Paths never escape the root.
///
/// Requests are answered on the event-loop thread, so the embedded dashboard, which never changes,
/// is read into memory once at startup: serving it costs no disk read on the loop. A configured
/// directory is read per request (edits show at once), which is for development.
struct StaticFiles: Sendable {
    let root: URL
    /// File contents by path relative to the root (`index.html`, `js/app.js`); nil reads from disk.
    private let preloaded: [String: Data]?

    init(root: URL, preload: Bool = false) {
        self.root = root
        self.preloaded = preload ? Self.readTree(root) : nil
    }

    /// The dashboard bundled with the host, held in memory.
    static func embedded() -> StaticFiles? {
        guard let url = Bundle.module.url(forResource: "dashboard", withExtension: nil) else { return nil }
        return StaticFiles(root: url, preload: true)
    }

    /// Every regular file under `root` (not following hidden entries), by relative path.
    private static func readTree(_ root: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        let base = root.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
        else { return files }
        for case let url as URL in enumerator {
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(base + "/"), let data = FileManager.default.contents(atPath: path) else { continue }
            files[String(path.dropFirst(base.count + 1))] = data
        }
        return files
    }

    func respond(to head: HTTPRequestHead) -> HTTPResponse? {
        var path = head.path
        if path == "/" { path = "/index.html" }
        let components = path.split(separator: "/")
        guard !components.isEmpty, !components.contains(where: { $0 == ".." || $0.hasPrefix(".") }) else { return nil }
        let url = components.reduce(root) { $0.appendingPathComponent(String($1)) }
        let data: Data
        if let preloaded {
            guard let file = preloaded[components.joined(separator: "/")] else { return nil }
            data = file
        } else {
            guard let file = FileManager.default.contents(atPath: url.path) else { return nil }
            data = file
        }
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
