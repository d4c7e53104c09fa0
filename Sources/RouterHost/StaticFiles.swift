import Foundation
import RouterCore

/// Serves the dashboard's static files (embedded resources, or a directory from the config)
/// with content types and caching headers. Paths never escape the root.
///
/// Requests are answered on the event-loop thread, which must never wait for the disk, so files are
/// always served from memory: the embedded dashboard, which never changes, is read once at startup; a
/// configured directory (for development) is kept in memory by a ``WatchedDirectory``, whose own thread
/// picks up edits within a quarter of a second.
struct StaticFiles: Sendable {
    let root: URL
    private let source: Source

    /// Where file contents come from, by path relative to the root (`index.html`, `js/app.js`).
    private enum Source {
        case preloaded([String: Data])
        case watched(WatchedDirectory)
    }

    /// Serves `root`: read once now (`preload`), or watched for changes.
    init(root: URL, preload: Bool = false) {
        self.root = root
        self.source = preload ? .preloaded(Self.readTree(root)) : .watched(WatchedDirectory(root: root))
    }

    /// Serves `root`, watched for changes; `read` does every disk read (tests see where it runs).
    init(watching root: URL, interval: Duration = .milliseconds(250), read: @escaping WatchedDirectory.Reader) {
        self.root = root
        self.source = .watched(WatchedDirectory(root: root, interval: interval, read: read))
    }

    /// Stops watching a configured directory (nothing to do for a preloaded one).
    func stop() {
        if case .watched(let directory) = source { directory.stop() }
    }

    /// Returns once edits made before the call are served (a watched directory rescanned).
    func rescanned() async {
        if case .watched(let directory) = source { await directory.nextScan() }
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
        let relative = components.joined(separator: "/")
        let found: Data? =
            switch source {
            case .preloaded(let files): files[relative]
            case .watched(let directory): directory.file(relative)
            }
        guard let data = found else { return nil }
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
