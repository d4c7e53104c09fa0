import Testing
@testable import RouterCore

@Suite("HTTPRequestHead")
struct HTTPRequestHeadTests {
    private func head(_ target: String, headers: [(name: String, value: String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(method: "GET", target: target, headers: headers)
    }

    // MARK: Path and query

    @Test func pathIsPercentDecodedWithoutTheQuery() {
        let h = head("/ws/a%20b%2Fc%E2%9C%93?x=1")
        #expect(h.target == "/ws/a%20b%2Fc%E2%9C%93?x=1")
        #expect(h.path == "/ws/a b/c✓")
        #expect(h.query == ["x": "1"])
    }

    @Test func plusStaysAPlusInThePath() {
        #expect(head("/a+b").path == "/a+b")
    }

    @Test func plusIsASpaceInTheQuery() {
        let h = head("/?q=a+b%2Bc&name=%E2%9C%93&sp%20ace+d=1")
        #expect(h.query == ["q": "a b+c", "name": "✓", "sp ace d": "1"])
    }

    @Test func lastValueWins() {
        #expect(head("/?a=1&b=2&a=3").query == ["a": "3", "b": "2"])
    }

    @Test func valuesWithoutEqualsAndEmptyPairs() {
        #expect(head("/?flag&&a=1&").query == ["flag": "", "a": "1"])
        #expect(head("/?a=b=c").query == ["a": "b=c"])
        #expect(head("/?a%3Db=c").query == ["a=b": "c"])
    }

    @Test func noQueryAndEmptyQuery() {
        #expect(head("/x").query.isEmpty)
        #expect(head("/x?").query.isEmpty)
        #expect(head("/x?").path == "/x")
        // Only the first '?' separates path and query.
        #expect(head("/x?a=?b").query == ["a": "?b"])
    }

    @Test func invalidEscapesAreKept() {
        #expect(head("/%zz%4").path == "/%zz%4")
        #expect(head("/%").path == "/%")
        #expect(head("/?a=%g1%2").query == ["a": "%g1%2"])
        #expect(head("/%41%4a%4A").path == "/AJJ")
    }

    @Test func parsedHeadDecodesTheTarget() throws {
        let parsed = try #require(HTTPTestSupport.parse("GET /ws/m%65mory?compress=gzip&token=a+b HTTP/1.1\r\n\r\n").httpValue.flatMap { $0 })
        #expect(parsed.head.path == "/ws/memory")
        #expect(parsed.head.query == ["compress": "gzip", "token": "a b"])
    }

    // MARK: Headers

    @Test func headerLookupIsCaseInsensitive() {
        let h = head("/", headers: [("X-One", "1"), ("x-one", "2"), ("Other", "o")])
        #expect(h.headers.map(\.name) == ["x-one", "x-one", "other"])
        #expect(h.header("X-ONE") == "1")
        #expect(h.headerValues("x-One") == ["1", "2"])
        #expect(h.header("missing") == nil)
        #expect(h.headerValues("missing").isEmpty)
    }

    @Test func hasTokenInCommaLists() {
        let h = head("/", headers: [("Connection", "keep-alive, Upgrade"), ("Upgrade", "WebSocket")])
        #expect(h.hasToken("upgrade", inHeader: "connection"))
        #expect(h.hasToken("UPGRADE", inHeader: "Connection"))
        #expect(h.hasToken("keep-alive", inHeader: "connection"))
        #expect(h.hasToken("websocket", inHeader: "upgrade"))
        #expect(!h.hasToken("upgrad", inHeader: "connection"))
        #expect(!h.hasToken("keep", inHeader: "connection"))
        #expect(!h.hasToken("keep-alive, upgrade", inHeader: "connection"))
        #expect(!h.hasToken("upgrade", inHeader: "missing"))
    }

    @Test func hasTokenAcrossRepeatedHeadersAndWhitespace() {
        let h = head("/", headers: [("Connection", "keep-alive"), ("Connection", " \tfoo ,\tUpgrade\t, ")])
        #expect(h.hasToken("upgrade", inHeader: "connection"))
        #expect(h.hasToken("foo", inHeader: "connection"))
        #expect(!h.hasToken("Upgrade2", inHeader: "connection"))
        #expect(!head("/", headers: [("Connection", "Upgrade2")]).hasToken("upgrade", inHeader: "connection"))
    }

    @Test func upgradeRequestCarriesPathQueryAndHeaders() {
        let request = UpgradeRequest(head: head("/ws/a%20b?x=1", headers: [("Origin", "o")]), remoteAddress: "10.0.0.1:5")
        #expect(request.path == "/ws/a b")
        #expect(request.query == ["x": "1"])
        #expect(request.remoteAddress == "10.0.0.1:5")
    }
}
