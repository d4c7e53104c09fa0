import Foundation
import RouterCore
import Testing

/// Session resume in the dashboard (DESIGN §6): the page talks to the host through a `TCPProxy`
/// that the test cuts, so neither the browser nor the host is restarted.
extension DashboardBrowserTests {
    @Test("a tab keeps its session across a cut connection: the search in flight completes once; the indicator shows reconnecting, then resumed")
    func resumeAcrossCut() async throws {
        try await withBrowser("resume") { page, hosts in
            let host = try await Self.startProxiedHost(hosts, label: "resume")
            let proxy = try TCPProxy(to: host.port)
            defer { proxy.close() }
            try await page.navigate(to: host.baseURL + Self.proxiedQuery(proxy))
            try await waitForIndicator(page, "connected")
            let session = try #require(try await page.evaluate("window.dashboard.client.session").cdpString)

            // The link dies right after the request: the host runs the search to its end, and
            // nothing of it reaches the tab.
            proxy.hold()
            try await page.evaluate(Self.submitSearchJS)
            let finished = try await host.child.waitForLog("the search to finish on the host", timeout: .seconds(30)) { log in
                Self.searchesFinished(log) > 0 ? true : nil
            }
            #expect(finished)
            let before = try await page.evaluate(Self.searchStateJS, as: SearchState.self)
            #expect(before.status == "running" && before.results.isEmpty, "in flight for the user: \(before.statusText)")
            #expect(await proxy.waitForHeldBytes(), "the host's answer was sent into the dead link")
            #expect(proxy.sever() == 1)

            // The tab reconnects, resumes, and the search ends as if nothing happened.
            try await waitForStatus(page, "search-status")
            try await page.screenshot("resumed")
            let state = try await page.evaluate(Self.searchStateJS, as: SearchState.self)
            #expect(state.status == "done", "search status: \(state.statusText)")
            #expect((1...5).contains(state.results.count), "\(state.results.count) results shown")
            let kinds = state.events.map(\.kind)
            #expect(kinds.filter { $0 == "complete" }.count == 1 && kinds.last == "complete", "events: \(kinds)")
            #expect(kinds.filter { $0 == "progress" }.count >= 1, "progress replayed: \(kinds)")
            let seqs = try await page.evaluate(
                "window.dashboard.events.search.filter(e => e.kind === 'progress').map(e => e.seq)", as: [Int].self)
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "each progress once, in order: \(seqs)")
            #expect(state.stageRows.allSatisfy { $0.state == "done" }, "stage bars: \(state.stageRows)")

            // Same session; the indicator said "reconnecting", then "resumed", then "connected" again.
            try await waitForIndicator(page, "connected")
            #expect(try await page.evaluate("window.dashboard.client.session").cdpString == session)
            let shown = try await page.evaluate("window.dashboard.events.indicator", as: [String].self)
            #expect(Array(shown.drop { $0 != "reconnecting" }.reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } })
                        == ["reconnecting", "resumed", "connected"], "indicator: \(shown)")
            #expect(try await page.evaluate("window.dashboard.client.stats.resumes") == .number(1))
            // The operation ran once on the host: it was not sent again.
            #expect(Self.searchesFinished(host.child.log) == 1, "searches finished on the host")
            #expect(proxy.accepted == 2, "one reconnect: \(proxy.accepted) connections")
        }
    }

    @Test("a session that expired while the tab was cut off: the search panel says the operation was lost and why")
    func expiredSessionShowsTheLoss() async throws {
        try await withBrowser("resume-expired") { page, hosts in
            let host = try await Self.startProxiedHost(hosts, label: "resume-expired", resume: #"{"windowMs": 300}"#)
            let proxy = try TCPProxy(to: host.port)
            defer { proxy.close() }
            try await page.navigate(to: host.baseURL + Self.proxiedQuery(proxy))
            try await waitForIndicator(page, "connected")
            let session = try #require(try await page.evaluate("window.dashboard.client.session").cdpString)

            proxy.hold()
            try await page.evaluate(Self.submitSearchJS)
            _ = try await host.child.waitForLog("the search to reach the host", timeout: .seconds(30)) { log in
                Self.searchesFinished(log) > 0 ? true : nil
            }
            // The link stays down longer than the resume window.
            proxy.refusing = true
            proxy.sever()
            try await waitForIndicator(page, "reconnecting")
            try await page.waitUntil(
                "fetch('/metrics', { cache: 'no-store' }).then(r => r.text()).then(t => \(Self.expiredMetricJS))",
                "the host to expire the detached session", timeout: .seconds(30),
                diagnostics: "fetch('/metrics').then(r => r.text()).then(t => t.split('\\n').filter(l => /resume|detach|expire/.test(l)))")
            #expect(proxy.refused > 0, "the tab kept trying while the link was down")
            proxy.refusing = false

            try await page.waitUntil(
                "document.getElementById('search-status').dataset.status === 'lost'", "the search panel to report the loss",
                timeout: .seconds(30),
                diagnostics: "({ status: document.getElementById('search-status').textContent, events: window.dashboard.events })")
            try await waitForIndicator(page, "connected")
            try await page.screenshot("lost")
            let seen = try await page.evaluate(
                """
                ({ status: document.getElementById('search-status').textContent,
                   note: document.getElementById('search-progress-message').textContent,
                   indicator: document.getElementById('connection-detail').textContent,
                   results: document.querySelectorAll('#search-results li').length,
                   session: window.dashboard.client.session,
                   errors: window.dashboard.events.search.filter(e => e.kind === 'error').map(e => e.code + '/' + e.reason),
                   completes: window.dashboard.events.search.filter(e => e.kind === 'complete').length })
                """, as: LostState.self)
            #expect(seen.status == "operation lost (expired)", "status: \(seen.status)")
            #expect(seen.note.contains("could not be resumed") && seen.note.contains("expired"), "note: \(seen.note)")
            #expect(seen.errors == ["session_lost/expired"] && seen.completes == 0 && seen.results == 0, "\(seen)")
            #expect(seen.session != session, "a new session after the failed resume")
            #expect(seen.indicator.contains("could not be resumed (expired)"), "indicator detail: \(seen.indicator)")
        }
    }

    @Test("a reload of the tab resumes its session (kept in sessionStorage on pagehide)")
    func reloadResumesTheSession() async throws {
        try await withBrowser("resume-reload") { page, hosts in
            let host = try await hosts.start(label: "resume-reload")
            try await page.navigate(to: host.baseURL + "?resumedMs=600000")
            try await waitForIndicator(page, "connected")
            let session = try #require(try await page.evaluate("window.dashboard.client.session").cdpString)
            #expect(try await page.evaluate("sessionStorage.length") == .number(0), "nothing stored while the page lives")

            try await page.evaluate("window.__before = true; location.reload(); true")
            try await page.waitUntil(
                "!window.__before && document.getElementById('connection-state')?.dataset.state === 'resumed'",
                "the reloaded page to show resumed", timeout: .seconds(30),
                diagnostics: "({ before: window.__before, events: window.dashboard?.events.connection })")
            try await page.screenshot("reloaded")
            #expect(try await page.evaluate("window.dashboard.client.session").cdpString == session, "same session after the reload")
            let detail = try await page.evaluate("document.getElementById('connection-detail').textContent").cdpString ?? ""
            #expect(detail.contains("session \(session) resumed"), "indicator detail: \(detail)")

            #expect(try await page.evaluate("sessionStorage.length") == .number(0), "the stored session was taken by the reloaded page")
        }
    }

    /// A host whose WebSocket endpoint accepts the dashboard's page when reached through a proxy:
    /// the page's origin (the host's own port) differs from the proxy's `Host`, so it is allowed
    /// explicitly (`server.allowedOrigins`).
    static func startProxiedHost(_ hosts: HostPool, label: String, resume: String = "{}") async throws -> RouterHostProcess {
        let port = try BrowserEnvironment.freePort()
        let config = try BrowserEnvironment.temporaryDirectory("router-host-config").appendingPathComponent("\(label).json")
        try Data(#"{"server": {"allowedOrigins": ["http://127.0.0.1:\#(port)"]}, "resume": \#(resume), "progress": {"quietMs": 0}, "logging": {"level": "debug"}}"#.utf8).write(to: config)
        return try await hosts.start(label: label, port: port, extraArguments: ["--config", config.path])
    }

    /// Dashboard parameters: the router through the proxy, quick retries, a short "resumed" label.
    static func proxiedQuery(_ proxy: TCPProxy) -> String {
        "?ws=\(proxy.webSocketURL)&reconnectMinMs=20&reconnectMaxMs=200&resumedMs=800&metricsMs=600000"
    }

    static let submitSearchJS = """
        document.getElementById('search-query').value = 'project deadline';
        document.getElementById('search-limit').value = '5';
        document.getElementById('search-form').requestSubmit();
        true
        """

    /// JavaScript over `t` (the /metrics text): at least one session expired.
    static let expiredMetricJS = #"/^router_sessions_expired_total\s+[1-9]/m.test(t)"#

    /// `memory_search` operations the host logged as finished.
    static func searchesFinished(_ log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("operation finished") && $0.contains("op.type=memory_search") }.count
    }
}

struct LostState: Decodable, CustomStringConvertible {
    let status: String
    let note: String
    let indicator: String
    let results: Int
    let session: String
    let errors: [String]
    let completes: Int
    var description: String { "status=\(status) errors=\(errors) completes=\(completes) results=\(results)" }
}
