import Foundation
import RouterClient
import RouterCore
import Synchronization

/// A Chrome DevTools Protocol connection over our own `WebSocketClient`: commands with ids whose
/// results are awaited, events collected (console output and exceptions kept for diagnostics).
final class CDPConnection: Sendable {
    /// A command answered with `error`.
    struct CommandError: Error, CustomStringConvertible {
        let method: String
        let message: String
        var description: String { "CDP \(method) failed: \(message)" }
    }

    private struct State {
        var nextID = 1
        var waiters: [Int: (method: String, continuation: CheckedContinuation<JSONValue, any Error>)] = [:]
        var closed: BrowserTestError?
        var console: [String] = []
    }

    private let socket: WebSocketClient
    private let state = Mutex(State())

    /// Connects to a DevTools WebSocket URL (`ws://127.0.0.1:PORT/devtools/browser/…`) and starts reading.
    static func connect(to url: String) throws -> CDPConnection {
        guard let match = url.firstMatch(of: /^ws:\/\/([^\/:]+):(\d+)(\/.*)$/), let port = Int(match.2) else {
            throw BrowserTestError("unexpected DevTools URL \(url)")
        }
        let connection = CDPConnection(socket: try WebSocketClient.connect(host: String(match.1), port: port, path: String(match.3)))
        Task.detached { await connection.readLoop() }
        return connection
    }

    private init(socket: WebSocketClient) {
        self.socket = socket
    }

    /// Console messages and exceptions of every page, in order (the last 500).
    var consoleLog: [String] { state.withLock { $0.console } }

    /// Sends a command and returns its `result`.
    func send(
        _ method: String, _ params: [String: JSONValue] = [:], sessionID: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> JSONValue {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        var message: [String: JSONValue] = ["id": .number(Double(id)), "method": .string(method), "params": .object(params)]
        if let sessionID { message["sessionId"] = .string(sessionID) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(JSONValue.object(message)), as: UTF8.self)

        let timer = Task {
            try await Task.sleep(for: timeout)
            self.resume(id: id, with: .failure(BrowserTestError("CDP \(method): no answer within \(timeout)")))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let closed = state.withLock { state -> BrowserTestError? in
                if let closed = state.closed { return closed }
                state.waiters[id] = (method, continuation)
                return nil
            }
            if let closed {
                continuation.resume(throwing: closed)
                return
            }
            do {
                try socket.send(text: text)
            } catch {
                resume(id: id, with: .failure(error))
            }
        }
    }

    /// Drops the connection (the browser process is stopped separately).
    func close() {
        socket.disconnect()
    }

    private func resume(id: Int, with result: Result<JSONValue, any Error>) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume(with: result)
    }

    private func readLoop() async {
        while true {
            let event: WebSocketClient.Event?
            do {
                event = try await socket.next(timeout: .seconds(3600))
            } catch {
                continue  // only "no event within the timeout"
            }
            guard let event else { break }
            switch event {
            case .text(let text):
                received(text)
            case .close, .disconnected:
                break
            default:
                continue
            }
            if case .disconnected = event { break }
        }
        let waiters = state.withLock { state in
            state.closed = BrowserTestError("the DevTools connection closed")
            defer { state.waiters = [:] }
            return state.waiters
        }
        for (_, waiter) in waiters {
            waiter.continuation.resume(throwing: BrowserTestError("the DevTools connection closed during \(waiter.method)"))
        }
    }

    private func received(_ text: String) {
        guard let message = try? JSONValue(parsing: Data(text.utf8)) else { return }
        if case .number(let number)? = message["id"] {
            let id = Int(number)
            if let error = message["error"] {
                let method = state.withLock { $0.waiters[id]?.method } ?? "command"
                let text = error["message"].flatMap(\.cdpString) ?? "\(error)"
                resume(id: id, with: .failure(CommandError(method: method, message: text)))
            } else {
                resume(id: id, with: .success(message["result"] ?? .object([:])))
            }
            return
        }
        guard let method = message["method"]?.cdpString, let params = message["params"] else { return }
        var line: String?
        switch method {
        case "Runtime.consoleAPICalled":
            let kind = params["type"]?.cdpString ?? "log"
            var parts: [String] = []
            if case .array(let arguments)? = params["args"] {
                for argument in arguments {
                    parts.append(argument["value"].map(\.testJSON) ?? argument["description"]?.cdpString ?? "?")
                }
            }
            line = "console.\(kind): \(parts.joined(separator: " "))"
        case "Runtime.exceptionThrown":
            let details = params["exceptionDetails"]
            let description = details?["exception"]?["description"]?.cdpString ?? details?["text"]?.cdpString ?? "?"
            line = "exception: \(description)"
        case "Log.entryAdded":
            let entry = params["entry"]
            line = "log.\(entry?["level"]?.cdpString ?? "?"): \(entry?["text"]?.cdpString ?? "") \(entry?["url"]?.cdpString ?? "")"
        default:
            break
        }
        if let line {
            state.withLock { state in
                state.console.append(line)
                if state.console.count > 500 { state.console.removeFirst(state.console.count - 500) }
            }
        }
    }
}

/// One page (tab), driven through a flattened CDP session.
struct BrowserPage: Sendable {
    let cdp: CDPConnection
    let sessionID: String
    /// Names screenshots: `<name>-<what>.png`.
    let name: String

    @discardableResult
    func command(_ method: String, _ params: [String: JSONValue] = [:], timeout: Duration = .seconds(30)) async throws -> JSONValue {
        try await cdp.send(method, params, sessionID: sessionID, timeout: timeout)
    }

    /// Navigates and waits for the load to complete.
    func navigate(to url: String) async throws {
        let result = try await command("Page.navigate", ["url": .string(url)])
        if let error = result["errorText"]?.cdpString, !error.isEmpty {
            throw BrowserTestError("navigating to \(url) failed: \(error)")
        }
        try await waitUntil(
            "document.readyState === 'complete' && location.href === \(Self.jsString(url))", "\(url) to load",
            timeout: .seconds(30))
    }

    /// Evaluates JavaScript (awaiting a promise) and returns its value as JSON; a thrown exception fails.
    @discardableResult
    func evaluate(_ expression: String, timeout: Duration = .seconds(30)) async throws -> JSONValue {
        let result = try await command(
            "Runtime.evaluate",
            ["expression": .string(expression), "awaitPromise": .bool(true), "returnByValue": .bool(true)],
            timeout: timeout)
        if let details = result["exceptionDetails"] {
            let description = details["exception"]?["description"]?.cdpString ?? details["text"]?.cdpString ?? "\(details)"
            throw BrowserTestError("JavaScript threw: \(description)\nin: \(expression.prefix(300))")
        }
        return result["result"]?["value"] ?? .null
    }

    /// Evaluates JavaScript and decodes its (JSON) value.
    func evaluate<T: Decodable>(_ expression: String, as type: T.Type, timeout: Duration = .seconds(30)) async throws -> T {
        let value = try await evaluate(expression, timeout: timeout)
        do {
            return try value.decode(T.self)
        } catch {
            throw BrowserTestError("cannot decode \(T.self) from \(value.testJSON.prefix(500)): \(error)")
        }
    }

    /// Polls `condition` (JavaScript) until it is truthy; on timeout the error shows `diagnostics`' value.
    @discardableResult
    func waitUntil(
        _ condition: String, _ what: String, timeout: Duration = .seconds(15), diagnostics: String? = nil
    ) async throws -> JSONValue {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var lastError: (any Error)?
        while clock.now < deadline {
            do {
                let value = try await evaluate("(() => { try { return (\(condition)) || null; } catch (e) { return null; } })()")
                if value != .null, value != .bool(false) { return value }
            } catch {
                lastError = error  // e.g. the execution context changed during a navigation
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        var message = "timed out after \(timeout) waiting for \(what)"
        if let diagnostics, let value = try? await evaluate(diagnostics) { message += "; state: \(value.testJSON.prefix(1500))" }
        if let lastError { message += "; last error: \(lastError)" }
        throw BrowserTestError(message)
    }

    /// Saves a PNG of the whole page under `artifacts/screenshots/`.
    @discardableResult
    func screenshot(_ what: String) async throws -> URL {
        let result = try await command("Page.captureScreenshot", ["format": .string("png"), "captureBeyondViewport": .bool(true)])
        guard let base64 = result["data"]?.cdpString, let data = Data(base64Encoded: base64) else {
            throw BrowserTestError("Page.captureScreenshot returned no data")
        }
        try FileManager.default.createDirectory(at: BrowserEnvironment.screenshots, withIntermediateDirectories: true)
        let url = BrowserEnvironment.screenshots.appendingPathComponent("\(name)-\(what).png")
        try data.write(to: url)
        return url
    }

    /// A JavaScript string literal.
    static func jsString(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(JSONValue.string(text))) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// Headless Chromium with remote debugging on an ephemeral port.
final class Browser {
    let child: ChildProcess
    let cdp: CDPConnection
    let profile: URL

    private init(child: ChildProcess, cdp: CDPConnection, profile: URL) {
        self.child = child
        self.cdp = cdp
        self.profile = profile
    }

    static func launch(label: String) async throws -> Browser {
        guard let executable = BrowserEnvironment.chromium else { throw BrowserTestError("chromium is not installed") }
        let profile = try BrowserEnvironment.temporaryDirectory("chromium-profile")
        let child = try ChildProcess(
            name: "chromium-\(label)", executable: executable,
            arguments: [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--remote-debugging-port=0", "--user-data-dir=\(profile.path)", "--window-size=1280,1000", "about:blank",
            ])
        do {
            let url = try await child.waitForLog("the DevTools URL", timeout: .seconds(30)) { log in
                log.firstMatch(of: /DevTools listening on (ws:\/\/\S+)/).map { String($0.1) }
            }
            return Browser(child: child, cdp: try CDPConnection.connect(to: url), profile: profile)
        } catch {
            await child.stop()
            try? FileManager.default.removeItem(at: profile)
            throw error
        }
    }

    /// Opens a new tab and attaches to it.
    func newPage(name: String) async throws -> BrowserPage {
        let target = try await cdp.send("Target.createTarget", ["url": .string("about:blank")])
        guard let targetID = target["targetId"]?.cdpString else { throw BrowserTestError("Target.createTarget: no targetId") }
        let attached = try await cdp.send("Target.attachToTarget", ["targetId": .string(targetID), "flatten": .bool(true)])
        guard let sessionID = attached["sessionId"]?.cdpString else { throw BrowserTestError("Target.attachToTarget: no sessionId") }
        let page = BrowserPage(cdp: cdp, sessionID: sessionID, name: name)
        try await page.command("Runtime.enable")
        try await page.command("Page.enable")
        try await page.command("Log.enable")
        try await page.command(
            "Emulation.setDeviceMetricsOverride",
            ["width": .number(1280), "height": .number(1000), "deviceScaleFactor": .number(1), "mobile": .bool(false)])
        return page
    }

    func close() async {
        _ = try? await cdp.send("Browser.close", timeout: .seconds(3))
        cdp.close()
        await child.stop(grace: .seconds(3))
        try? FileManager.default.removeItem(at: profile)
    }
}

extension JSONValue {
    /// The string, if this is one.
    var cdpString: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

extension JSONValue {
    /// Compact JSON text, for messages.
    var testJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "\(self)"
    }
}
