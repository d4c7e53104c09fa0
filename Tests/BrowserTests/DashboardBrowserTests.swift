import Foundation
import Testing

/// The dashboard, the legacy client pattern and the JS client's own tests, in headless Chromium
/// against a real `router-host` child process. Screenshots go to `artifacts/screenshots/`,
/// process logs to `artifacts/logs/`.
@Suite(
    "Dashboard in headless Chromium",
    .serialized,
    .timeLimit(.minutes(4)),
    .disabled(
        if: BrowserEnvironment.chromiumMissing,
        "chromium is not installed (apt-get install -y chromium, or set CHROMIUM=/path/to/chrome); browser tests skipped")
)
struct DashboardBrowserTests {
    // MARK: Dashboard

    @Test("loads /, runs a search, shows stage-by-stage progress, then ranked results")
    func searchShowsProgressThenResults() async throws {
        try await withBrowser("search") { page, hosts in
            let host = try await hosts.start(label: "search", config: HostPool.progressFromTheStart)
            try await page.navigate(to: host.baseURL)
            try await waitForIndicator(page, "connected")
            try await page.screenshot("connected")

            // Record the DOM as it changes, to see progress bars before results.
            try await page.evaluate(Self.observeJS(panel: "search-panel"))
            try await page.evaluate(
                """
                document.getElementById('search-query').value = 'project deadline';
                document.getElementById('search-limit').value = '5';
                document.getElementById('search-form').requestSubmit();
                true
                """)
            try await waitForStatus(page, "search-status")
            let state = try await page.evaluate(Self.searchStateJS, as: SearchState.self)

            #expect(state.status == "done", "search status: \(state.statusText)")
            // Progress, then the result.
            let kinds = state.events.map(\.kind)
            #expect(kinds.first == "start" && kinds.last == "complete", "events: \(kinds)")
            let progress = state.events.filter { $0.kind == "progress" }
            #expect(!progress.isEmpty, "at least one progress event before the result")
            let values = progress.compactMap(\.progress)
            #expect(values == values.sorted(), "progress never decreases: \(values)")
            let stageIndexes = progress.compactMap(\.stageIndex)
            #expect(stageIndexes == stageIndexes.sorted(), "stages in order: \(stageIndexes)")
            // The DOM showed a running stage while there were no results yet, and results afterwards.
            let firstActive = state.observed.firstIndex { $0.stages.contains("active") && $0.results == 0 }
            let firstResults = state.observed.firstIndex { $0.results > 0 }
            #expect(firstActive != nil, "a stage bar was shown active before results: \(state.observed.prefix(20))")
            if let firstActive, let firstResults { #expect(firstActive < firstResults) }
            // One bar per stage from welcome, all done; overall 100 %.
            #expect(!state.welcomeStages.isEmpty)
            #expect(state.stageRows.map(\.name) == state.welcomeStages, "stage bars \(state.stageRows) vs welcome \(state.welcomeStages)")
            #expect(state.stageRows.allSatisfy { $0.state == "done" }, "stage states: \(state.stageRows)")
            #expect(state.percent == "100%")
            // Ranked results with id, score, text and tags.
            #expect((1...5).contains(state.results.count), "\(state.results.count) results")
            let scores = state.results.compactMap { Double($0.score) }
            #expect(scores.count == state.results.count && scores == scores.sorted(by: >), "scores descending: \(scores)")
            #expect(state.results.allSatisfy { !$0.id.isEmpty && !$0.text.isEmpty }, "results: \(state.results)")
            #expect(state.indicator == "connected")
            try await page.screenshot("results")
        }
    }

    @Test("context-compression preview: kept and dropped text with reasons, ratio and token counts")
    func compressionPreview() async throws {
        try await withBrowser("compression") { page, hosts in
            let host = try await hosts.start(label: "compression")
            try await page.navigate(to: host.baseURL)
            try await waitForIndicator(page, "connected")
            // The textarea starts with a sample conversation (with a repeated sentence); a tight budget.
            try await page.evaluate(
                """
                document.getElementById('compress-budget').value = '40';
                document.getElementById('compress-form').requestSubmit();
                true
                """)
            try await waitForStatus(page, "compress-status")
            let state = try await page.evaluate(Self.compressStateJS, as: CompressState.self)

            #expect(state.status == "done", "compression status: \(state.statusText)")
            #expect(state.messages > 1, "messages parsed from the textarea: \(state.messages)")
            let ratio = try #require(Double(state.ratio), "ratio \(state.ratio)")
            #expect(ratio > 0 && ratio <= 1, "ratio \(ratio)")
            let original = try #require(Int(state.originalTokens.replacingOccurrences(of: ",", with: "")))
            let compressed = try #require(Int(state.compressedTokens.replacingOccurrences(of: ",", with: "")))
            #expect(compressed <= 40 && compressed < original, "tokens \(compressed) of \(original), budget 40")
            #expect(!state.output.isEmpty, "compressed text shown")
            #expect(!state.kept.isEmpty, "kept spans shown")
            #expect(!state.dropped.isEmpty, "dropped spans shown (budget 40 of \(original))")
            #expect(state.dropped.allSatisfy { !$0.reason.isEmpty && !$0.text.isEmpty }, "every dropped span has a reason: \(state.dropped)")
            #expect(state.stageStates.allSatisfy { $0 == "done" } && !state.stageStates.isEmpty, "stages \(state.stageStates)")
            try await page.screenshot("preview")
        }
    }

    @Test("live stream view shows chunks as they arrive; the metrics table lists the operations")
    func streamAndMetrics() async throws {
        try await withBrowser("stream") { page, hosts in
            let host = try await hosts.start(label: "stream")
            try await page.navigate(to: host.baseURL + "?metricsMs=1000")
            try await waitForIndicator(page, "connected")
            for analysis in ["tag_stats", "timeline"] {
                try await page.evaluate(
                    """
                    document.getElementById('stream-analysis').value = \(BrowserPage.jsString(analysis));
                    document.getElementById('stream-chunk-size').value = '5';
                    document.getElementById('stream-form').requestSubmit();
                    true
                    """)
                try await waitForStatus(page, "stream-status", timeout: .seconds(60))
                let state = try await page.evaluate(Self.streamStateJS, as: StreamState.self)
                #expect(state.status == "done", "\(analysis): \(state.statusText)")
                // The sample memories have dozens of tags and months: several chunks of 5 rows each.
                #expect(state.chunkIndexes.count > 1, "\(analysis): several chunks shown, got \(state.chunkIndexes.count)")
                #expect(state.chunkIndexes == Array(0..<state.chunkIndexes.count), "\(analysis): chunks in order \(state.chunkIndexes)")
                #expect(state.count == String(state.chunkEvents), "\(analysis): counter \(state.count) vs \(state.chunkEvents) events")
                #expect(state.kinds.last == "complete" && state.kinds.dropLast().contains("chunk"), "\(analysis): \(state.kinds)")
                #expect(state.summaryShown)
                try await page.screenshot("stream-\(analysis)")
            }
            // The metrics table refreshes after each operation and every second here.
            let row = try await page.waitUntil(
                "document.querySelector('#metrics-table tbody tr[data-op=\"memory_stream\"]')?.textContent",
                "a metrics row for memory_stream", timeout: .seconds(20),
                diagnostics: "document.getElementById('metrics-table').outerHTML + ' / ' + document.getElementById('metrics-updated').textContent")
            #expect(row.cdpString?.contains("memory_stream") == true)
            let columns = try await page.evaluate(
                "[...document.querySelectorAll('#metrics-table thead th')].map(th => th.textContent)", as: [String].self)
            #expect(columns.count > 1, "metric columns: \(columns)")
            try await page.screenshot("metrics")
        }
    }

    @Test("static files are served with their content types and caching headers")
    func staticFiles() async throws {
        try await withBrowser("static") { page, hosts in
            let host = try await hosts.start(label: "static")
            try await page.navigate(to: host.baseURL)
            let responses = try await page.evaluate(
                """
                Promise.all(['/', '/router-client.js', '/dashboard.js', '/dashboard.css', '/legacy.html', '/tests.html',
                             '/tests.js', '/metrics', '/no-such-file.js'].map(async (path) => {
                  const response = await fetch(path, { cache: 'no-store' });
                  return { path, status: response.status, type: response.headers.get('content-type') || '',
                           cache: response.headers.get('cache-control') || '' };
                }))
                """, as: [StaticResponse].self)
            let byPath = Dictionary(uniqueKeysWithValues: responses.map { ($0.path, $0) })
            // The JS client's unit tests are not part of the production bundle.
            for path in ["/tests.html", "/tests.js"] {
                #expect(byPath[path]?.status == 404, "\(path): \(String(describing: byPath[path]))")
            }
            for path in ["/", "/legacy.html"] {
                #expect(byPath[path]?.status == 200 && byPath[path]?.type.hasPrefix("text/html") == true, "\(path): \(String(describing: byPath[path]))")
            }
            for path in ["/router-client.js", "/dashboard.js"] {
                let type = byPath[path]?.type ?? ""
                #expect(byPath[path]?.status == 200 && (type.hasPrefix("text/javascript") || type.hasPrefix("application/javascript")),
                        "\(path) must have a JavaScript type for ES modules: \(String(describing: byPath[path]))")
            }
            #expect(byPath["/dashboard.css"]?.status == 200 && byPath["/dashboard.css"]?.type.hasPrefix("text/css") == true)
            #expect(byPath["/metrics"]?.status == 200 && byPath["/metrics"]?.type.hasPrefix("text/plain") == true)
            #expect(byPath["/no-such-file.js"]?.status == 404)
            for path in ["/", "/router-client.js", "/dashboard.css"] {
                #expect(byPath[path]?.cache.isEmpty == false, "\(path) has a Cache-Control header")
            }
        }
    }

    // MARK: Connection indicator across a server restart

    @Test("indicator goes to reconnecting when the host dies and back to connected when it returns on the same port")
    func indicatorFollowsHostRestart() async throws {
        try await withBrowser("restart") { page, hosts in
            let port = try BrowserEnvironment.freePort()
            let first = try await hosts.start(label: "restart-1", port: port)
            // Backoff capped at 2 s so the test does not wait 30 s for a retry.
            try await page.navigate(to: first.baseURL + "?reconnectMaxMs=2000")
            try await waitForIndicator(page, "connected")
            let firstSession = try await page.evaluate("window.dashboard.client.session").cdpString

            await first.crash()
            try await waitForIndicator(page, "reconnecting", timeout: .seconds(10))
            try await page.screenshot("reconnecting")
            // It keeps retrying (refused connections) without giving up: two attempts fail while the host is down.
            let retried = try await page.evaluate(
                Self.reconnectAttemptsJS(atLeast: 2, timeoutMs: 20_000), as: ReconnectAttempts.self, timeout: .seconds(30))
            #expect(retried.reached, "the client did not retry twice; its connection states: \(retried.events)")
            #expect(try await page.evaluate("document.getElementById('connection-state').dataset.state").cdpString == "reconnecting")

            let second = try await hosts.start(label: "restart-2", port: port)
            #expect(second.port == port)
            try await waitForIndicator(page, "connected", timeout: .seconds(30))
            try await page.screenshot("reconnected")
            let states = try await page.evaluate("window.dashboard.events.connection.map(e => e.state)", as: [String].self)
            let firstDrop = try #require(states.firstIndex(of: "reconnecting"), "states: \(states)")
            #expect(states[..<firstDrop].contains("connected") && states[firstDrop...].contains("connected"), "states: \(states)")
            #expect(!states.contains("offline"), "states: \(states)")
            let secondSession = try await page.evaluate("window.dashboard.client.session").cdpString
            #expect(secondSession != nil && secondSession != firstSession, "a new session after the restart")

            // The client works on the new connection.
            try await page.evaluate(
                """
                document.getElementById('search-query').value = 'project';
                document.getElementById('search-form').requestSubmit();
                true
                """)
            try await waitForStatus(page, "search-status")
            let state = try await page.evaluate(Self.searchStateJS, as: SearchState.self)
            #expect(state.status == "done" && !state.results.isEmpty, "search after reconnect: \(state.statusText)")
        }
    }

    // MARK: The original client pattern

    /// The seed's own client, as its write-up wrote it. With the default quiet start a search of the sample
    /// store (a few ms) is answered by `search_complete` alone; with progress from the start (as for a long
    /// search) `search_progress` comes first. The client must handle both.
    @Test(
        "legacy.html: new WebSocket('/ws/memory'), memory_search without id, search_progress / search_complete",
        arguments: [false, true])
    func legacyClientPattern(progressFromTheStart: Bool) async throws {
        try await withBrowser("legacy") { page, hosts in
            let host =
                progressFromTheStart
                ? try await hosts.start(label: "legacy-progress", config: HostPool.progressFromTheStart)
                : try await hosts.start(label: "legacy")
            try await page.navigate(to: host.baseURL + "legacy.html?q=project%20deadline")
            try await page.waitUntil(
                "['complete', 'error'].includes(window.legacyResult?.status)", "the legacy search to finish",
                timeout: .seconds(30), diagnostics: "window.legacyResult")
            let result = try await page.evaluate(
                """
                ({ ...window.legacyResult, results: (window.legacyResult.results || []).map(r => ({ id: String(r.id), score: Number(r.score), text: String(r.text) })),
                   shown: document.querySelectorAll('#legacy-results li').length })
                """, as: LegacyResult.self)
            #expect(result.status == "complete", "legacy outcome: \(result.error.map { "\($0.code ?? ""): \($0.message ?? "")" } ?? result.status)")
            #expect(result.url.hasSuffix("/ws/memory"), "socket URL \(result.url)")
            #expect(result.progress == result.progress.sorted() && result.progress.allSatisfy { (0...1).contains($0) }, "progress \(result.progress)")
            #expect((1...10).contains(result.results.count), "\(result.results.count) results")
            #expect(result.shown == result.results.count)
            let complete = result.messages.firstIndex(of: "search_complete")
            #expect(complete == result.messages.count - 1, "messages: \(result.messages)")
            if progressFromTheStart {
                #expect(!result.progress.isEmpty, "search_progress received")
                let firstProgress = result.messages.firstIndex(of: "search_progress")
                #expect(firstProgress != nil && complete != nil && firstProgress! < complete!, "messages: \(result.messages)")
            } else {
                #expect(result.messages == ["welcome", "search_complete"], "a fast search is answered by its result alone")
            }
            #expect(result.messages.first == "welcome")
            try await page.screenshot(progressFromTheStart ? "results-after-progress" : "results")
        }
    }

    // MARK: The JS client's unit tests

    @Test("tests.html: router-client.js unit tests (fake server and live) all pass")
    func clientUnitTests() async throws {
        try await withBrowser("client-tests") { page, hosts in
            // The live tests expect progress before the result (progress.quietMs 0, DESIGN §4 quiet start).
            let config = try BrowserEnvironment.clientTestsConfig(label: "client-tests", extra: #""progress": {"quietMs": 0}"#)
            let host = try await hosts.start(label: "client-tests", extraArguments: ["--config", config.path])
            try await page.navigate(to: host.baseURL + "tests.html")
            try await page.waitUntil(
                "window.testsDone === true", "the client tests to finish", timeout: .seconds(150),
                diagnostics: "window.testResults")
            let results = try await page.evaluate("window.testResults", as: [ClientTestResult].self)
            try await page.screenshot("results")
            #expect(results.count >= 20, "only \(results.count) tests ran")
            #expect(results.contains { $0.name.hasPrefix("live:") }, "live tests ran")
            for result in results where !result.ok {
                Issue.record("\(result.name): \(result.detail)")
            }
        }
    }

    @Test("gzip+base64 envelope: with permessage-deflate off, ?compress=gzip results over 10 KiB are decoded in the browser")
    func gzipEnvelopeWithoutDeflate() async throws {
        try await withBrowser("gzip") { page, hosts in
            // Chromium always offers permessage-deflate; the envelope is only used when the host declines it.
            let config = try BrowserEnvironment.clientTestsConfig(label: "no-deflate", extra: #""compression": {"permessageDeflate": false}"#)
            let host = try await hosts.start(label: "gzip", extraArguments: ["--config", config.path])
            try await page.navigate(to: host.baseURL + "tests.html?filter=gzip")
            try await page.waitUntil(
                "window.testsDone === true", "the gzip tests to finish", timeout: .seconds(90), diagnostics: "window.testResults")
            let results = try await page.evaluate("window.testResults", as: [ClientTestResult].self)
            try await page.screenshot("results")
            let live = try #require(results.first { $0.name.hasPrefix("live:") && $0.name.contains("gzip") }, "\(results.map(\.name))")
            #expect(live.ok, "\(live.detail)")
            #expect(live.detail.hasPrefix("compression gzip+base64") && !live.detail.contains(" 0 envelope"), "\(live.detail)")
            for result in results where !result.ok {
                Issue.record("\(result.name): \(result.detail)")
            }
        }
    }

    // MARK: Helpers

    func waitForIndicator(_ page: BrowserPage, _ state: String, timeout: Duration = .seconds(30)) async throws {
        try await page.waitUntil(
            "document.getElementById('connection-state')?.dataset.state === \(BrowserPage.jsString(state))",
            "the connection indicator to show \(state)", timeout: timeout,
            diagnostics: "({ indicator: document.getElementById('connection-state')?.outerHTML, events: window.dashboard?.events.connection })")
    }

    func waitForStatus(_ page: BrowserPage, _ id: String, timeout: Duration = .seconds(30)) async throws {
        try await page.waitUntil(
            "['done', 'error', 'cancelled'].includes(document.getElementById('\(id)').dataset.status)",
            "#\(id) to finish", timeout: timeout,
            diagnostics: "({ status: document.getElementById('\(id)').textContent, events: window.dashboard?.events })")
    }

    /// A promise that resolves, from the client's `state` events (not by polling), once the client reports
    /// `reconnecting` after `attempts` failed connection attempts (`attempt` counts them since the last
    /// `welcome`); after `timeoutMs` it resolves unreached, with the states seen.
    struct ReconnectAttempts: Decodable {
        var reached: Bool
        /// Every connection state the client reported, as `state#attempt`.
        var events: [String]
    }

    static func reconnectAttemptsJS(atLeast attempts: Int, timeoutMs: Int) -> String {
        """
        new Promise((resolve) => {
          const { client, events } = window.dashboard;
          const reached = (event) => event.state === 'reconnecting' && event.attempt >= \(attempts);
          const report = (value) => resolve({ reached: value, events: events.connection.map((e) => `${e.state}#${e.attempt}`) });
          if (events.connection.some(reached)) return report(true);
          const timer = setTimeout(() => report(false), \(timeoutMs));
          client.addEventListener('state', (event) => {
            if (reached(event.detail)) { clearTimeout(timer); report(true); }
          });
        })
        """
    }

    /// Starts a MutationObserver recording the panel's stage states and result count at every change.
    static func observeJS(panel: String) -> String {
        """
        window.__observed = [];
        new MutationObserver(() => window.__observed.push({
          stages: [...document.querySelectorAll('#\(panel) .stage')].map(row => row.dataset.state),
          results: document.querySelectorAll('#\(panel) .results li').length,
        })).observe(document.getElementById('\(panel)'), { subtree: true, childList: true, attributes: true });
        true
        """
    }

    static let searchStateJS = """
        ({
          status: document.getElementById('search-status').dataset.status,
          statusText: document.getElementById('search-status').textContent,
          indicator: document.getElementById('connection-state').dataset.state,
          events: window.dashboard.events.search.map(e => ({ kind: e.kind, stage: e.stage ?? null, stageIndex: e.stageIndex ?? null, progress: e.progress ?? null })),
          welcomeStages: window.dashboard.client.operations.get('memory_search')?.stages ?? [],
          stageRows: [...document.querySelectorAll('#search-progress .stage')].map(row => ({ name: row.dataset.stage, state: row.dataset.state })),
          percent: document.getElementById('search-percent')?.textContent ?? '',
          results: [...document.querySelectorAll('#search-results li')].map(li => ({
            id: li.dataset.id, score: li.querySelector('.score').textContent, text: li.querySelector('.result-text').textContent,
            tags: [...li.querySelectorAll('.tag')].map(t => t.textContent) })),
          observed: window.__observed ?? [],
        })
        """

    static let compressStateJS = """
        ({
          status: document.getElementById('compress-status').dataset.status,
          statusText: document.getElementById('compress-status').textContent,
          messages: document.getElementById('compress-messages').value.split('\\n').filter(l => l.trim()).length,
          ratio: document.getElementById('compress-ratio').dataset.value ?? '',
          originalTokens: document.getElementById('compress-original-tokens').textContent,
          compressedTokens: document.getElementById('compress-compressed-tokens').textContent,
          output: document.getElementById('compress-output').textContent,
          kept: [...document.querySelectorAll('#compress-kept li')].map(li => ({ text: li.querySelector('.span-text').textContent, reason: li.dataset.reason })),
          dropped: [...document.querySelectorAll('#compress-dropped li')].map(li => ({ text: li.querySelector('.span-text').textContent, reason: li.dataset.reason })),
          stageStates: [...document.querySelectorAll('#compress-progress .stage')].map(row => row.dataset.state),
        })
        """

    static let streamStateJS = """
        (() => {
          const events = window.dashboard.events.stream;
          const start = events.map(e => e.kind).lastIndexOf('start');
          const run = events.slice(start);
          return {
            status: document.getElementById('stream-status').dataset.status,
            statusText: document.getElementById('stream-status').textContent,
            chunkIndexes: [...document.querySelectorAll('#stream-chunks .chunk')].map(c => Number(c.dataset.chunk)),
            count: document.getElementById('stream-count').textContent,
            chunkEvents: run.filter(e => e.kind === 'chunk').length,
            kinds: run.map(e => e.kind),
            summaryShown: !document.getElementById('stream-summary').hidden,
          };
        })()
        """
}

// MARK: Harness

/// The hosts a test started; all stopped when the test ends.
final class HostPool {
    private(set) var started: [RouterHostProcess] = []

    func start(label: String, port: Int? = nil, extraArguments: [String] = []) async throws -> RouterHostProcess {
        let host = try await RouterHostProcess.start(label: label, port: port, extraArguments: extraArguments)
        started.append(host)
        return host
    }

    /// A host whose configuration is `json` (other keys keep the embedded default).
    func start(label: String, port: Int? = nil, config json: String) async throws -> RouterHostProcess {
        let config = try BrowserEnvironment.temporaryDirectory("router-host-config").appendingPathComponent("\(label).json")
        try Data(json.utf8).write(to: config)
        return try await start(label: label, port: port, extraArguments: ["--config", config.path])
    }

    /// Progress from a request's start (`progress.quietMs` 0): the sample store answers a search within
    /// the default quiet start, which sends such a fast request's result alone (DESIGN §4).
    static let progressFromTheStart = #"{"progress": {"quietMs": 0}}"#

    func stopAll() async {
        for host in started { await host.stop() }
    }
}

/// Runs `body` with a fresh headless Chromium page; on failure, adds a screenshot, the browser
/// console and the hosts' log tails to the error.
func withBrowser(_ name: String, _ body: (BrowserPage, HostPool) async throws -> Void) async throws {
    // Screenshots of an earlier run of this test would mislead.
    let old = (try? FileManager.default.contentsOfDirectory(atPath: BrowserEnvironment.screenshots.path)) ?? []
    for file in old where file.hasPrefix("\(name)-") {
        try? FileManager.default.removeItem(at: BrowserEnvironment.screenshots.appendingPathComponent(file))
    }
    let hosts = HostPool()
    let browser: Browser
    do {
        browser = try await Browser.launch(label: name)
    } catch {
        throw BrowserTestError("cannot start chromium: \(error)")
    }
    do {
        let page = try await browser.newPage(name: name)
        do {
            try await body(page, hosts)
        } catch {
            _ = try? await page.screenshot("failure")
            throw error
        }
        await browser.close()
        await hosts.stopAll()
    } catch {
        var report = "\(error)"
        let console = browser.cdp.consoleLog.suffix(40)
        if !console.isEmpty { report += "\n--- browser console ---\n" + console.joined(separator: "\n") }
        for host in hosts.started { report += "\n--- \(host.child.name) log ---\n" + host.child.logTail(25) }
        await browser.close()
        await hosts.stopAll()
        throw BrowserTestError(report)
    }
}

// MARK: Decoded page state

struct SearchState: Decodable {
    struct Event: Decodable {
        let kind: String
        let stage: String?
        let stageIndex: Int?
        let progress: Double?
    }
    struct StageRow: Decodable, CustomStringConvertible {
        let name: String
        let state: String
        var description: String { "\(name)=\(state)" }
    }
    struct Result: Decodable {
        let id: String
        let score: String
        let text: String
        let tags: [String]
    }
    struct Observation: Decodable, CustomStringConvertible {
        let stages: [String]
        let results: Int
        var description: String { "[\(stages.joined(separator: ","))] results=\(results)" }
    }
    let status: String
    let statusText: String
    let indicator: String
    let events: [Event]
    let welcomeStages: [String]
    let stageRows: [StageRow]
    let percent: String
    let results: [Result]
    let observed: [Observation]
}

struct CompressState: Decodable {
    struct Span: Decodable {
        let text: String
        let reason: String
    }
    let status: String
    let statusText: String
    let messages: Int
    let ratio: String
    let originalTokens: String
    let compressedTokens: String
    let output: String
    let kept: [Span]
    let dropped: [Span]
    let stageStates: [String]
}

struct StreamState: Decodable {
    let status: String
    let statusText: String
    let chunkIndexes: [Int]
    let count: String
    let chunkEvents: Int
    let kinds: [String]
    let summaryShown: Bool
}

struct StaticResponse: Decodable {
    let path: String
    let status: Int
    let type: String
    let cache: String
}

struct LegacyResult: Decodable {
    struct Failure: Decodable {
        let code: String?
        let message: String?
    }
    struct Entry: Decodable {
        let id: String
        let score: Double
        let text: String
    }
    let status: String
    let url: String
    let relativeURL: Bool?
    let progress: [Double]
    let results: [Entry]
    let error: Failure?
    let messages: [String]
    let shown: Int
}

struct ClientTestResult: Decodable {
    let name: String
    let ok: Bool
    let detail: String
}
