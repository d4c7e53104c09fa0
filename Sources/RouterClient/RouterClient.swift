import Foundation
public import RouterCore

/// The Swift client of Memory Router: requests as async streams, over one WebSocket that
/// reconnects and resumes its session by itself (DESIGN §4, §6).
///
/// ```swift
/// let client = try await RouterClient.connect(url: "ws://127.0.0.1:8080/ws/memory")
/// for try await event in client.request(type: "memory_search", data: ["query": "tea", "limit": 3]) {
///     if event.kind == .progress { print(event.stage ?? "", event.progress ?? 0) }
///     if event.kind == .result { print(event.fields) }
/// }
/// await client.close()
/// ```
///
/// Contract:
/// - Every event of a request reaches the caller exactly once, in `seq` order, across reconnects:
///   after a drop the client reconnects (``ReconnectPolicy``), sends `resume` with the last `seq` it
///   processed, and drops any replayed message at or below it. It acknowledges what it processed
///   (`ack`) about once per ``Options/ackInterval`` or every ``Options/ackEveryMessages`` messages,
///   only when the `seq` advanced.
/// - If the server refuses the resume (`resume_failed`), requests sent in the old session finish
///   with ``RouterError`` ``RouterError/sessionLost`` (the message names the reason); the client
///   goes on in the new session.
/// - A request made while reconnecting waits for the connection. Cancelling the task that iterates
///   a request's stream sends `cancel` (right away, or after the resume if disconnected).
/// - The connection counts as dead after `heartbeat.interval + heartbeat.timeout` (from `welcome`)
///   without any inbound traffic; an app-level `ping` is sent after `interval` to provoke some.
/// - ``close()`` sends close 1000, which ends the server session (its operations are cancelled).
///
/// Blocking socket I/O runs on dedicated threads (a reader and a writer per connection, a short-lived
/// thread per connect), never on the cooperative pool.
public final class RouterClient: Sendable {
    /// Connection settings.
    public struct Options: Sendable {
        /// Backoff between reconnect attempts.
        public var reconnect = ReconnectPolicy()
        /// Offer permessage-deflate (RFC 7692).
        public var offerDeflate = true
        /// Extra upgrade request headers (e.g. `Authorization`, `Origin`).
        public var headers: [(String, String)] = []
        /// Time allowed from starting a connect to `welcome` (and `resumed`).
        public var connectTimeout: Duration = .seconds(10)
        /// Longest time between two `ack`s while the seq advances.
        public var ackInterval: Duration = .seconds(1)
        /// Messages after which an `ack` goes out without waiting for ``ackInterval``.
        public var ackEveryMessages = 100
        /// Largest message accepted from the server.
        public var maxMessageBytes = 64 << 20
        /// How the client waits between attempts (tests inject one that records the delays).
        public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

        /// The defaults above.
        public init() {}
    }

    /// Counters of the connection's life, for tests, benchmarks and dashboards.
    public struct Statistics: Sendable, Equatable {
        /// Fresh sessions started (`welcome` without a resume).
        public var sessionsStarted = 0
        /// Successful resumes.
        public var resumes = 0
        /// Refused resumes by reason.
        public var resumeFailures: [String: Int] = [:]
        /// Connections that ended (other than by ``close()``).
        public var drops = 0
        /// Connect attempts that failed.
        public var failedAttempts = 0
        /// Messages dropped because their `seq` was already processed.
        public var duplicatesDropped = 0
        /// Times a `seq` skipped ahead (a server bug if ever non-zero).
        public var seqGaps = 0
        /// `ack` messages sent.
        public var acksSent = 0
        /// App-level heartbeat pings sent.
        public var pingsSent = 0
        /// Connections dropped because nothing arrived for `heartbeat.interval + heartbeat.timeout`.
        public var heartbeatTimeouts = 0
        /// Requests re-sent after a resume because the server never received them.
        public var requestsResent = 0
    }

    /// What happens to the connection, in order. Single consumer; the newest 1 024 are kept when nobody reads.
    public let connectionEvents: AsyncStream<ConnectionEvent>

    private let endpoint: Endpoint
    private let options: Options
    private let state: Locked<State>
    private let events: AsyncStream<ConnectionEvent>.Continuation
    /// Cookies the server (or a load balancer in front of it) set on an upgrade response, sent back on every
    /// reconnect: HAProxy's stickiness cookie is how a resuming client reaches the host that holds its session
    /// (DEPLOY.md). Names to values; attributes (`Path`, `Max-Age`, …) are not interpreted.
    private let cookies = Locked<[(name: String, value: String)]>([])

    /// The cookies kept from upgrade responses, as sent in the `Cookie` header (nil when none).
    public var cookieHeader: String? {
        let jar = cookies.withLock { $0 }
        return jar.isEmpty ? nil : jar.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }

    /// Connects to `url` (`ws://host:port/path?query`) and returns once the server's `welcome` arrived.
    /// Throws if this first connection fails; later drops are handled by reconnecting.
    public static func connect(url: String, options: Options = Options()) async throws -> RouterClient {
        let client = try RouterClient(endpoint: Endpoint(url), options: options)
        let link = try await client.open()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            client.state.withLock { $0.ready = continuation }
            let driver = Task { await client.drive(first: link) }
            client.state.withLock { $0.driver = driver }
        }
        return client
    }

    private init(endpoint: Endpoint, options: Options) {
        self.endpoint = endpoint
        self.options = options
        self.state = Locked(State())
        (connectionEvents, events) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    // MARK: Public API

    /// Runs operation `type` with `data`. The stream yields its progress and chunk events and ends
    /// with the result (``RouterEvent/Kind/result``), or throws a ``RouterError`` (the server's
    /// `error`, or ``RouterError/sessionLost``, ``RouterError/closed``, ``RouterError/offline``).
    /// `timeout` is sent with the request (the server clamps it to the operation's declared timeout).
    /// Ending the iteration early, or cancelling its task, cancels the request on the server.
    public func request(
        type: String, data: JSONValue = .object([:]), timeout: Duration? = nil, id: String? = nil
    ) -> AsyncThrowingStream<RouterEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<RouterEvent, any Error>.makeStream()
        let timeoutMs = timeout.map { max(1, Int($0.seconds * 1000)) }
        let actions = state.withLock { state -> [Action] in
            let id = id ?? state.newID()
            continuation.onTermination = { [weak self] termination in
                if case .cancelled = termination { self?.cancelled(id) }
            }
            if case .closed = state.phase {
                return [.finish(continuation, RouterError(code: RouterError.closed, message: "the client is closed", id: id, op: type))]
            }
            if state.pending[id] != nil {
                return [.finish(continuation, RouterError(code: "duplicate_id", message: "a request with id \(id) is in flight", id: id, op: type))]
            }
            state.pending[id] = Pending(
                type: type, data: data, timeoutMs: timeoutMs, continuation: continuation, order: state.nextOrder())
            return state.sendIfOpen(id: id)
        }
        perform(actions)
        return stream
    }

    /// Like ``request(type:data:timeout:id:)`` with `data` encoded by `JSONEncoder`.
    public func request<Body: Encodable>(
        type: String, encoding data: Body, timeout: Duration? = nil, id: String? = nil
    ) throws -> AsyncThrowingStream<RouterEvent, any Error> {
        let json = try JSONValue(jsonBytes: Array(JSONEncoder().encode(data)))
        return request(type: type, data: json, timeout: timeout, id: id)
    }

    /// Runs `type` and returns its result event, ignoring progress and chunks.
    public func result(type: String, data: JSONValue = .object([:]), timeout: Duration? = nil) async throws -> RouterEvent {
        for try await event in request(type: type, data: data, timeout: timeout) where event.kind == .result {
            return event
        }
        throw RouterError(code: RouterError.closed, message: "the stream ended without a result", op: type)
    }

    /// Closes for good: sends close 1000 (the server ends the session and cancels its operations),
    /// fails in-flight requests with ``RouterError/closed`` and stops reconnecting.
    public func close() async {
        let (actions, link, driver) = state.withLock { state -> ([Action], Link?, Task<Void, Never>?) in
            if case .closed = state.phase { return ([], nil, state.driver) }
            state.phase = .closed
            let actions = state.failAll(RouterError(code: RouterError.closed, message: "the client was closed"))
            return (actions, state.link, state.driver)
        }
        perform(actions)
        events.yield(.closed)
        events.finish()
        if let link {
            link.sendClose()
            // The server answers the close and drops the TCP connection; don't wait longer than a second.
            let backstop = Task {
                try? await Task.sleep(for: .seconds(1))
                link.socket.disconnect()
            }
            driver?.cancel()
            await driver?.value
            backstop.cancel()
        } else {
            driver?.cancel()
            await driver?.value
        }
    }

    /// The current session id (nil before the first `welcome`).
    public var session: String? { state.withLock { $0.session?.id } }
    /// The highest `seq` processed in the current session.
    public var lastSeq: UInt64 { state.withLock { $0.lastSeq } }
    /// Requests waiting for their final message (or for a connection).
    public var inFlight: Int { state.withLock { $0.pending.count } }
    /// Counters so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// The last `welcome` received.
    public var welcome: JSONValue? { state.withLock { $0.welcome } }

    /// Drops the TCP connection without a close frame, as a network failure would (tests and the soak).
    package func dropConnection() {
        state.withLock { $0.link }?.socket.disconnect()
    }

    // MARK: Driver

    /// The reconnect loop: serve a connection until it drops, wait the backoff delay, reconnect.
    private func drive(first: Link) async {
        var link: Link? = first
        var attempt = 0
        while true {
            if let current = link {
                let (reason, established) = await serve(current)
                link = nil
                let stop = state.withLock { state -> Bool in
                    state.link = nil
                    state.replayUntil = nil
                    if case .closed = state.phase { return true }
                    state.phase = .connecting
                    state.statistics.drops += 1
                    return false
                }
                if stop { return }
                events.yield(.disconnected(reason: reason))
                if let ready = state.withLock({ state in defer { state.ready = nil }; return state.ready }) {
                    // The very first connection never became ready: `connect` throws.
                    close(with: ready, error: WebSocketClient.ConnectError(description: reason))
                    return
                }
                attempt = established ? 0 : attempt + 1
            }
            if let max = options.reconnect.maxAttempts, attempt > max {
                giveUp(after: attempt)
                return
            }
            let delay = options.reconnect.delay(attempt: attempt)
            events.yield(.reconnecting(attempt: attempt, delay: delay))
            do { try await options.sleep(delay) } catch { return }
            if isClosed { return }
            do {
                let opened = try await open()
                if isClosed {
                    opened.socket.disconnect()
                    opened.stop()
                    return
                }
                link = opened
            } catch {
                state.withLock { $0.statistics.failedAttempts += 1 }
                events.yield(.disconnected(reason: "connect failed: \(error)"))
                attempt += 1
            }
        }
    }

    private var isClosed: Bool {
        state.withLock { if case .closed = $0.phase { true } else { false } }
    }

    private func close(with ready: CheckedContinuation<Void, any Error>, error: any Error) {
        state.withLock { $0.phase = .closed }
        events.finish()
        ready.resume(throwing: error)
    }

    private func giveUp(after attempts: Int) {
        let actions = state.withLock { state -> [Action] in
            state.phase = .closed
            return state.failAll(RouterError(code: RouterError.offline, message: "gave up reconnecting after \(attempts) failed attempts"))
        }
        perform(actions)
        events.yield(.closed)
        events.finish()
    }

    /// Reads one connection until it ends; returns why, and whether it reached an open session.
    private func serve(_ link: Link) async -> (reason: String, established: Bool) {
        defer { link.stop() }
        let (resume, closed) = state.withLock { state -> (String?, Bool) in
            if case .closed = state.phase { return (nil, true) }
            state.link = link
            guard let session = state.session else {
                state.phase = .awaitingWelcome(resuming: false)
                return (nil, false)
            }
            state.phase = .awaitingWelcome(resuming: true)
            return (JSONValue.object([
                "type": "resume", "session": .string(session.id), "token": .string(session.token),
                "lastSeq": .number(Double(state.lastSeq)),
            ]).jsonText, false)
        }
        if closed {
            link.socket.disconnect()
            return ("closed", false)
        }
        if let resume { link.send(resume) }
        let connectDeadline = ContinuousClock.now + options.connectTimeout
        var timers: ConnectionTimers?
        var established = false
        var reason: String?
        var pings = 0
        while true {
            let now = ContinuousClock.now
            var waitUntil = connectDeadline
            if var current = timers {
                decide: while true {
                    switch current.next(now: now) {
                    case .wait(let until):
                        waitUntil = until
                        break decide
                    case .sendPing:
                        pings += 1
                        state.withLock { $0.statistics.pingsSent += 1 }
                        link.send(JSONValue.object(["type": "ping", "id": .string("hb-\(pings)")]).jsonText)
                    case .dead(let silence):
                        state.withLock { $0.statistics.heartbeatTimeouts += 1 }
                        reason = reason ?? "no traffic for \(silence) (heartbeat timeout)"
                        link.socket.disconnect()
                        waitUntil = now + .seconds(1)
                        break decide
                    case .ack:
                        perform(state.withLock { $0.ack() })
                    }
                }
                timers = current
            } else if now >= connectDeadline {
                reason = reason ?? "no welcome within \(options.connectTimeout)"
                link.socket.disconnect()
                waitUntil = now + .seconds(1)
            }
            let event: WebSocketClient.Event?
            do {
                event = try await link.socket.next(timeout: max(waitUntil - now, .milliseconds(1)))
            } catch {
                continue  // a timer is due
            }
            guard let event else { return (reason ?? "connection lost", established) }
            timers?.received(now: .now)
            switch event {
            case .text(let text):
                let (actions, opened, heartbeat) = state.withLock { state in
                    let actions = state.handle(text: text, link: link, options: options)
                    return (actions, state.isOpen, state.heartbeat)
                }
                perform(actions)
                if opened, timers == nil {
                    established = true
                    timers = ConnectionTimers(
                        heartbeatInterval: heartbeat.interval, heartbeatTimeout: heartbeat.timeout,
                        ackInterval: options.ackInterval, now: .now)
                }
            case .binary, .ping, .pong:
                continue
            case .close(let code, let text):
                reason = reason ?? "closed by the server (\(code.map(String.init) ?? "no code")\(text.isEmpty ? "" : " \(text)"))"
            case .disconnected:
                return (reason ?? "connection lost", established)
            }
        }
    }

    /// Opens a TCP connection and performs the upgrade, on a thread of its own.
    private func open() async throws -> Link {
        var socketOptions = WebSocketClient.Options()
        socketOptions.headers = options.headers
        if let cookieHeader, !options.headers.contains(where: { $0.0.lowercased() == "cookie" }) {
            socketOptions.headers.append(("Cookie", cookieHeader))
        }
        socketOptions.offerDeflate = options.offerDeflate
        socketOptions.maxMessageBytes = options.maxMessageBytes
        socketOptions.connectTimeout = options.connectTimeout
        let endpoint = endpoint
        let socket = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WebSocketClient, any Error>) in
            let thread = Thread { [socketOptions] in
                continuation.resume(
                    with: Result {
                        try WebSocketClient.connect(
                            host: endpoint.host, port: endpoint.port, path: endpoint.target, options: socketOptions)
                    })
            }
            thread.name = "RouterClient connect"
            thread.start()
        }
        keepCookies(socket.responseHead.headerValues("set-cookie"))
        return Link(socket)
    }

    /// Keeps `name=value` of each `Set-Cookie` (replacing a cookie of the same name).
    private func keepCookies(_ values: [String]) {
        guard !values.isEmpty else { return }
        cookies.withLock { jar in
            for value in values {
                let pair = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let name = pair[..<equals].trimmingCharacters(in: .whitespaces)
                let cookie = pair[pair.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { continue }
                jar.removeAll { $0.name == name }
                jar.append((name, cookie))
            }
        }
    }

    private func cancelled(_ id: String) {
        perform(state.withLock { $0.cancelled(id: id) })
    }

    private func perform(_ actions: [Action]) {
        for action in actions {
            switch action {
            case .yield(let continuation, let event): continuation.yield(event)
            case .finish(let continuation, let error): continuation.finish(throwing: error)
            case .send(let link, let text): link.send(text)
            case .event(let event): events.yield(event)
            case .ready(let continuation): continuation.resume()
            }
        }
    }
}

// MARK: - Connection

/// One WebSocket connection and its writer thread.
final class Link: Sendable {
    let socket: WebSocketClient
    private let writer = BlockingWorker(name: "RouterClient writer")

    init(_ socket: WebSocketClient) { self.socket = socket }

    /// Queues a text message (dropped if the socket is gone: the session's resume covers it).
    func send(_ text: String) {
        writer.submit { [socket] in try? socket.send(text: text) }
    }

    /// Queues a close frame with 1000 (ends the server session).
    func sendClose() {
        writer.submit { [socket] in try? socket.close(code: 1000, reason: "client closed") }
    }

    /// Ends the writer thread once its queue is written.
    func stop() { writer.stop() }
}

/// Where to connect: `ws://host:port/path?query`.
struct Endpoint: Sendable {
    let host: String
    let port: Int
    /// Path and query, as sent in the request line.
    let target: String

    init(_ url: String) throws {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "ws",
            let host = components.host, !host.isEmpty
        else {
            throw RouterError(code: "bad_url", message: "expected ws://host[:port]/path, got \(url)")
        }
        self.host = host
        self.port = components.port ?? 80
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.target = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }
}

// MARK: - State

private struct Pending {
    let type: String
    let data: JSONValue
    let timeoutMs: Int?
    let continuation: AsyncThrowingStream<RouterEvent, any Error>.Continuation
    /// Position in request order: waiting requests go out in the order they were made.
    let order: Int
    /// Sent in the current session (it reached the server, or a resume will tell).
    var sent = false
}

private struct SessionCredentials {
    let id: String
    let token: String
}

private enum Phase {
    /// Between connections.
    case connecting
    /// Connected, waiting for `welcome` (with a `resume` already sent when `resuming`).
    case awaitingWelcome(resuming: Bool)
    /// `welcome` of the new connection received; waiting for `resumed` or `resume_failed`.
    case resuming(newSession: SessionCredentials, welcomeSeq: UInt64)
    /// The session is live on this connection.
    case open
    /// ``RouterClient/close()`` was called, or reconnecting gave up.
    case closed
}

private enum Action {
    case yield(AsyncThrowingStream<RouterEvent, any Error>.Continuation, RouterEvent)
    case finish(AsyncThrowingStream<RouterEvent, any Error>.Continuation, RouterError?)
    case send(Link, String)
    case event(ConnectionEvent)
    case ready(CheckedContinuation<Void, any Error>)
}

/// Everything the client knows, under one lock. Inbound messages are handled only by the driver task,
/// so events are yielded in `seq` order; actions run after the lock is released.
private struct State {
    var phase = Phase.connecting
    var session: SessionCredentials?
    var lastSeq: UInt64 = 0
    var ackedSeq: UInt64 = 0
    var unacked = 0
    var pending: [String: Pending] = [:]
    var prefixes: [String: String] = [:]
    var heartbeat: (interval: Duration, timeout: Duration) = (.seconds(25), .seconds(20))
    var welcome: JSONValue?
    var link: Link?
    /// While replaying after `resumed`: the server's `lastSeq`.
    var replayUntil: UInt64?
    /// `resumed.inFlight`: ids the server still runs.
    var serverInFlight: Set<String> = []
    var ready: CheckedContinuation<Void, any Error>?
    var driver: Task<Void, Never>?
    var statistics = RouterClient.Statistics()
    private var nextID = 0
    private let idPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    var isOpen: Bool { if case .open = phase { true } else { false } }

    mutating func nextOrder() -> Int {
        nextID += 1
        return nextID
    }

    mutating func newID() -> String {
        nextID += 1
        return "c\(idPrefix)-\(nextID)"
    }

    /// Sends request `id` if the session is live and not replaying (else it waits for that).
    mutating func sendIfOpen(id: String) -> [Action] {
        guard isOpen, replayUntil == nil, let link, var entry = pending[id], !entry.sent else { return [] }
        entry.sent = true
        pending[id] = entry
        var members: [String: JSONValue] = ["type": .string(entry.type), "id": .string(id), "data": entry.data]
        if let timeoutMs = entry.timeoutMs { members["timeout"] = .number(Double(timeoutMs)) }
        return [.send(link, JSONValue.object(members).jsonText)]
    }

    mutating func sendUnsent() -> [Action] {
        pending.sorted { $0.value.order < $1.value.order }.flatMap { sendIfOpen(id: $0.key) }
    }

    mutating func cancelled(id: String) -> [Action] {
        guard let entry = pending.removeValue(forKey: id), entry.sent else { return [] }
        // Disconnected: the id shows up in `resumed.inFlight` and is cancelled then (see `finishReplay`).
        guard isOpen, let link else { return [] }
        return [.send(link, JSONValue.object(["type": "cancel", "id": .string(id)]).jsonText)]
    }

    mutating func failAll(_ error: RouterError) -> [Action] {
        let entries = pending
        pending.removeAll()
        return entries.map { id, entry in
            var error = error
            error.id = id
            error.op = entry.type
            return .finish(entry.continuation, error)
        }
    }

    mutating func ack() -> [Action] {
        guard isOpen, lastSeq > ackedSeq, let link else { return [] }
        ackedSeq = lastSeq
        unacked = 0
        statistics.acksSent += 1
        return [.send(link, JSONValue.object(["type": "ack", "seq": .number(Double(lastSeq))]).jsonText)]
    }

    /// One inbound text message.
    mutating func handle(text: String, link: Link, options: RouterClient.Options) -> [Action] {
        guard var message = try? JSONValue(jsonText: text) else { return [] }
        if message["compressed"] == .bool(true), case .string(let data)? = message["data"] {
            // The `gzip+base64` envelope (DESIGN §4), for clients that asked `?compress=gzip`.
            guard let bytes = try? GzipPayload.decompress(base64: data, limit: options.maxMessageBytes),
                let inner = try? JSONValue(jsonBytes: bytes)
            else { return [] }
            message = inner
        }
        guard case .string(let type)? = message["type"] else { return [] }
        let seq: UInt64? = if case .number(let value)? = message["seq"], value >= 0 { UInt64(value) } else { nil }
        switch phase {
        case .awaitingWelcome(let resuming):
            guard type == "welcome" else { return [] }
            readWelcome(message)
            let fresh = SessionCredentials(id: message["session"].string ?? "", token: message["token"].string ?? "")
            if resuming, session != nil {
                phase = .resuming(newSession: fresh, welcomeSeq: seq ?? 1)
                return []
            }
            return start(fresh, seq: seq ?? 1, link: link) + [.event(.connected(session: fresh.id))]
        case .resuming(let fresh, _):
            if type == "resumed" {
                statistics.resumes += 1
                phase = .open
                let held: UInt64 = if case .number(let value)? = message["lastSeq"] { UInt64(max(value, 0)) } else { lastSeq }
                if case .array(let ids)? = message["inFlight"] { serverInFlight = Set(ids.compactMap(\.string)) }
                var actions: [Action] = [.event(.resumed(session: session?.id ?? "", replaying: held > lastSeq ? held - lastSeq : 0))]
                if held > lastSeq {
                    replayUntil = held
                } else {
                    actions += finishReplay(link: link)
                }
                return actions
            }
            guard type == "resume_failed" else { return [] }
            let reason = message["reason"].string ?? "unknown"
            let detail = message["message"].string.map { ": \($0)" } ?? ""
            statistics.resumeFailures[reason, default: 0] += 1
            var actions: [Action] = []
            for (id, entry) in pending where entry.sent {
                pending[id] = nil
                let error = RouterError(
                    code: RouterError.sessionLost,
                    message: "the operation was lost with the session: resume failed (\(reason))\(detail)", id: id, op: entry.type)
                actions.append(.finish(entry.continuation, error))
            }
            actions += start(fresh, seq: seq ?? 2, link: link, countAsNew: false)
            actions.append(.event(.resumeFailed(reason: reason, newSession: fresh.id)))
            return actions
        case .open:
            if let seq {
                if seq <= lastSeq {
                    statistics.duplicatesDropped += 1
                    return []
                }
                if seq != lastSeq + 1 { statistics.seqGaps += 1 }
                lastSeq = seq
                unacked += 1
            }
            var actions = dispatch(message, type: type, seq: seq ?? 0)
            if let until = replayUntil, lastSeq >= until {
                actions += finishReplay(link: link)
            }
            if unacked >= options.ackEveryMessages { actions += ack() }
            return actions
        case .connecting, .closed:
            return []
        }
    }

    private mutating func readWelcome(_ message: JSONValue) {
        welcome = message
        if case .object(let beat)? = message["heartbeat"], case .number(let interval)? = beat["interval"],
            case .number(let timeout)? = beat["timeout"]
        {
            heartbeat = (.milliseconds(Int64(interval)), .milliseconds(Int64(timeout)))
        }
        if case .array(let operations)? = message["operations"] {
            for operation in operations {
                if let type = operation["type"].string { prefixes[type] = operation["prefix"].string ?? type }
            }
        }
    }

    /// The connection continues as session `fresh` (first connect, or after `resume_failed`).
    private mutating func start(_ fresh: SessionCredentials, seq: UInt64, link: Link, countAsNew: Bool = true) -> [Action] {
        session = fresh
        lastSeq = seq
        ackedSeq = 0
        unacked = 0
        replayUntil = nil
        serverInFlight = []
        phase = .open
        if countAsNew { statistics.sessionsStarted += 1 }
        var actions = sendUnsent()
        if let ready {
            self.ready = nil
            actions.append(.ready(ready))
        }
        return actions
    }

    /// The replay reached the server's `lastSeq`: requests the server never received are sent again,
    /// requests cancelled while disconnected are cancelled, waiting requests go out.
    private mutating func finishReplay(link: Link) -> [Action] {
        replayUntil = nil
        var actions: [Action] = []
        for (id, entry) in pending where entry.sent && !serverInFlight.contains(id) {
            pending[id]?.sent = false
            statistics.requestsResent += 1
        }
        for id in serverInFlight.sorted() where pending[id] == nil {
            actions.append(.send(link, JSONValue.object(["type": "cancel", "id": .string(id)]).jsonText))
        }
        serverInFlight = []
        return actions + sendUnsent()
    }

    private mutating func dispatch(_ message: JSONValue, type: String, seq: UInt64) -> [Action] {
        guard case .string(let id)? = message["id"], let entry = pending[id] else { return [] }
        if type == "error" {
            pending[id] = nil
            let error = RouterError(
                code: message["code"].string ?? "error", message: message["message"].string ?? "", id: id,
                op: message["op"].string ?? entry.type)
            return [.finish(entry.continuation, error)]
        }
        let prefix = prefixes[entry.type] ?? entry.type
        let kind: RouterEvent.Kind
        switch type {
        case prefix + "_progress": kind = .progress
        case prefix + "_chunk": kind = .chunk
        case prefix + "_complete": kind = .result
        default:
            if type.hasSuffix("_progress") {
                kind = .progress
            } else if type.hasSuffix("_chunk") {
                kind = .chunk
            } else if type.hasSuffix("_complete") {
                kind = .result
            } else {
                return []
            }
        }
        let event = RouterEvent(kind: kind, seq: seq, message: message)
        if kind == .result {
            pending[id] = nil
            return [.yield(entry.continuation, event), .finish(entry.continuation, nil)]
        }
        return [.yield(entry.continuation, event)]
    }
}

extension Optional where Wrapped == JSONValue {
    /// The string value, if this is a JSON string.
    fileprivate var string: String? {
        if case .string(let value)? = self { return value }
        return nil
    }
}

extension JSONValue {
    /// The string value, if this is a JSON string.
    fileprivate var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}
