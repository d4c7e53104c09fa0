import Foundation
import RouterCore
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import RouterHost

@Suite("Static files")
struct StaticFilesTests {
    private func request(_ method: String, _ target: String) -> HTTPRequestHead {
        HTTPRequestHead(method: method, target: target, headers: [("Host", "x")])
    }

    @Test func theEmbeddedDashboardIsServedFromMemory() throws {
        let files = try #require(StaticFiles.embedded())
        let index = try #require(files.respond(to: request("GET", "/")))
        #expect(index.status == 200)
        #expect(index.header("Content-Type") == "text/html; charset=utf-8")
        #expect(String(decoding: index.body, as: UTF8.self).contains("<html"))
        let script = try #require(files.respond(to: request("GET", "/dashboard.js")))
        #expect(script.header("Content-Type") == "text/javascript; charset=utf-8")
        let head = try #require(files.respond(to: request("HEAD", "/dashboard.js")))
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Length") == String(script.body.count))
        #expect(files.respond(to: request("GET", "/no-such-file.js")) == nil)
        #expect(files.respond(to: request("GET", "/../Package.swift")) == nil)
        #expect(files.respond(to: request("GET", "/.hidden")) == nil)
    }

    @Test func aConfiguredDirectoryShowsEditsOnceRescanned() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = StaticFiles(root: directory)
        defer { files.stop() }
        #expect(files.respond(to: request("GET", "/page.html")) == nil)
        try Data("<p>new</p>".utf8).write(to: directory.appendingPathComponent("page.html"))
        await files.rescanned()
        let page = try #require(files.respond(to: request("GET", "/page.html")))
        #expect(page.body == Array("<p>new</p>".utf8))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("page.html"))
        await files.rescanned()
        #expect(files.respond(to: request("GET", "/page.html")) == nil)
    }

    /// Over real sockets, with one event loop: the directory's files are read (first, after an edit, a new
    /// file) only on the watcher's thread; the loop answers from memory. Every read reports its thread.
    @Test func aConfiguredDirectoryIsReadOffTheEventLoop() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("<p>one</p>".utf8).write(to: directory.appendingPathComponent("page.html"))
        let server = Locked<WebSocketServer?>(nil)
        let reads = Locked<(total: Int, onLoop: Int)>((0, 0))
        let files = StaticFiles(watching: directory) { path in
            let onLoop = server.withLock { $0?.isOnEventLoop ?? false }
            reads.withLock {
                $0.total += 1
                if onLoop { $0.onLoop += 1 }
            }
            return FileManager.default.contents(atPath: path)
        }
        defer { files.stop() }
        var transport = TransportConfiguration()
        transport.port = 0
        transport.eventLoops = 1
        transport.httpResponder = { head in files.respond(to: head) }
        let started = try WebSocketServer.start(transport)
        server.withLock { $0 = started }
        #expect(try statusAndBody(port: started.port, path: "/page.html") == (200, "<p>one</p>"))
        try Data("<p>two, edited</p>".utf8).write(to: directory.appendingPathComponent("page.html"))
        try Data("<p>new</p>".utf8).write(to: directory.appendingPathComponent("new.html"))
        await files.rescanned()
        #expect(try statusAndBody(port: started.port, path: "/page.html") == (200, "<p>two, edited</p>"))
        #expect(try statusAndBody(port: started.port, path: "/new.html") == (200, "<p>new</p>"))
        #expect(try statusAndBody(port: started.port, path: "/missing.html").status == 404)
        await started.shutdown(drainTimeout: .milliseconds(200))
        let seen = reads.withLock { $0 }
        #expect(seen.total >= 3, "page.html twice and new.html read: \(seen.total)")
        #expect(seen.onLoop == 0, "\(seen.onLoop) of \(seen.total) file reads ran on the event loop")
    }

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// GET `path` on a fresh connection; the status and body (the server closes after answering).
private func statusAndBody(port: Int, path: String) throws -> (status: Int, body: String) {
    guard let text = httpGet(port: port, path: path, timeoutSeconds: 10) else {
        throw HostTestError(description: "cannot connect to port \(port)")
    }
    guard text.count > 12, let status = Int(text.dropFirst(9).prefix(3)) else {
        throw HostTestError(description: "no HTTP response to GET \(path): \(text)")
    }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}
