import Foundation
import RouterCore
import Testing
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

    @Test func aConfiguredDirectoryIsReadPerRequest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = StaticFiles(root: directory)
        #expect(files.respond(to: request("GET", "/page.html")) == nil)
        try Data("<p>new</p>".utf8).write(to: directory.appendingPathComponent("page.html"))
        let page = try #require(files.respond(to: request("GET", "/page.html")))
        #expect(page.body == Array("<p>new</p>".utf8))
    }
}
