import Foundation
import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// Supervises one external process plugin (one `plugins[]` entry with a `command`): starts the
/// process, performs the `describe` handshake, serves requests over the JSON-lines protocol
/// (PLUGINS.md), forwards cancellation, and survives the process crashing or hanging.
///
/// - A request whose process exits fails with `<type>_error` "plugin process <name> exited with
///   status 3" (or "… was killed by signal 9"); other operations of the router are unaffected.
/// - When `restart` is on, an exited process is started again after a backoff (0.2 s, doubling to
///   30 s; back to 0.2 s once a process stayed up 30 s). A request that arrives meanwhile waits
///   for the next start if it can happen before its deadline, and fails with "plugin <name> is
///   unavailable: …" if that start fails too (or cannot happen in time).
/// - A cancelled or timed-out request is sent a `cancel`; if the process has not finished that
///   request `cancelGrace` (2 s) later, it is killed (and restarted).
/// - Lines that are not valid protocol messages are logged and ignored.
///
/// Its timers (describe timeout, restart backoff, cancel grace) are tasks on the router's control executor,
/// never on the cooperative pool, which CPU-bound work elsewhere in the process can keep busy.
final class ExternalPluginProcess: Sendable {
    struct Settings: Sendable {
        /// How long the process has to answer `describe` after it starts.
        var describeTimeout: Duration = .seconds(5)
        /// How long a process has to finish a request after it was sent `cancel`, before it is killed.
        var cancelGrace: Duration = .seconds(2)
        var initialBackoff: Duration = .milliseconds(200)
        var maximumBackoff: Duration = .seconds(30)
        /// A process that stayed up this long resets the backoff.
        var stableUptime: Duration = .seconds(30)
        /// The timeout of an operation when neither the configuration nor `describe` gives one.
        var defaultTimeout: Duration = .seconds(60)
        /// At shutdown, how long the process has to exit after its stdin is closed (then SIGTERM, then SIGKILL).
        var shutdownGrace: Duration = .seconds(2)

        init() {}
    }

    /// What the first handshake produced.
    enum Handshake: Sendable, Equatable {
        /// The process answered `describe`; `missing` lists configured message types it did not describe.
        case ready(operations: [ExternalPluginProtocol.DescribedOperation], missing: [String])
        /// The process could not be started or did not answer `describe` properly.
        case failed(reason: String)
    }

    /// A summary of the supervisor's state, for logs and tests.
    struct Status: Sendable, Equatable {
        enum Phase: String, Sendable { case idle, starting, ready, backingOff, failed, stopped }
        var phase: Phase
        /// How many times a process was launched (1 + restarts).
        var launches: Int
        /// The running process's pid, if any.
        var pid: Int32?
        var lastFailure: String?
        /// Cancelled requests the process finished within the cancel grace period (checked when it ended).
        var cancelsHonoured = 0
        /// Restarts whose backoff ended after ``ExternalPluginProcess/stop()``: they launched nothing.
        var restartsAbandoned = 0
    }

    let entry: ExternalPluginEntry
    let settings: Settings
    private let logger: Logger
    private let state: ObservedState
    /// Signalled after every locked access that may have changed the state: tests wait on it for a
    /// ``status`` (``ChangeSignal/wait(timeout:until:)``) instead of polling.
    package let statusChanges = ChangeSignal()

    /// The state under its lock; every access may change it, so each one signals ``statusChanges`` after
    /// the lock is released, except ``read(_:)``.
    private struct ObservedState: Sendable {
        let locked: Locked<State>
        let changes: ChangeSignal

        func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
            defer { changes.changed() }
            return try locked.withLock(body)
        }

        func read<Result>(_ body: (State) -> Result) -> Result {
            locked.withLock { body($0) }
        }
    }

    private enum Phase {
        case idle
        case starting(ExternalPluginChild)
        case ready(ExternalPluginChild)
        case backingOff(until: ContinuousClock.Instant)
        case failed
        case stopped
    }

    /// What a running request's handler task receives, in order.
    private enum Incoming: Sendable {
        case progress(stage: String, fraction: Double, message: String?)
        case chunk(JSONValue)
        case result(JSONValue)
        case error(code: String?, message: String)
        case ended(String)
    }

    private struct Pending {
        let child: ExternalPluginChild
        let messageType: String
        /// The client's request id (the host's own `r<n>` is the key), for logs and errors.
        let clientID: String
        /// nil once the request was cancelled (its later messages are dropped).
        var continuation: AsyncStream<Incoming>.Continuation?
    }

    private struct State {
        var phase: Phase = .idle
        /// Incremented on every phase change (waiters compare it).
        var version = 0
        var launches = 0
        var backoff: Duration
        var lastFailure: String?
        /// Why the current launch's handshake failed (set when `describe` timed out).
        var handshakeFailure: String?
        /// The last line ignored during the current handshake (to explain a failed one).
        var ignoredDuringHandshake: String?
        /// The latest `describe` answer, by message type.
        var described: [String: ExternalPluginProtocol.DescribedOperation]?
        var pending: [String: Pending] = [:]
        var nextRequest = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        var cancelsHonoured = 0
        var restartsAbandoned = 0

        /// Changes the phase; the returned waiters must be resumed after the lock is released.
        mutating func enter(_ phase: Phase) -> [CheckedContinuation<Void, Never>] {
            self.phase = phase
            version += 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
    }

    init(entry: ExternalPluginEntry, settings: Settings = Settings(), logger: Logger) {
        self.entry = entry
        self.settings = settings
        var logger = logger
        logger[metadataKey: "plugin"] = entry.name
        self.logger = logger
        self.state = ObservedState(locked: Locked(State(backoff: settings.initialBackoff)), changes: statusChanges)
    }

    var name: String { entry.name }

    var status: Status {
        state.read { state in
            let phase: Status.Phase
            var pid: Int32?
            switch state.phase {
            case .idle: phase = .idle
            case .starting(let child): phase = .starting; pid = child.pid
            case .ready(let child): phase = .ready; pid = child.pid
            case .backingOff: phase = .backingOff
            case .failed: phase = .failed
            case .stopped: phase = .stopped
            }
            return Status(
                phase: phase, launches: state.launches, pid: pid, lastFailure: state.lastFailure,
                cancelsHonoured: state.cancelsHonoured, restartsAbandoned: state.restartsAbandoned)
        }
    }

    // MARK: - Lifecycle

    /// Launches the process and waits for the outcome of its `describe` handshake (at most
    /// `describeTimeout`). On failure the supervisor keeps restarting it in the background (if
    /// `restart` is on); the returned reason is the first failure.
    func start() async -> Handshake {
        launch()
        while true {
            let (version, outcome) = state.withLock { state -> (Int, Handshake?) in
                switch state.phase {
                case .idle, .starting: return (state.version, nil)
                case .ready:
                    let described = state.described ?? [:]
                    let operations = entry.messageTypes.compactMap { described[$0] }
                        + described.values.filter { !entry.messageTypes.contains($0.type) }.sorted { $0.type < $1.type }
                    return (state.version, .ready(operations: operations, missing: entry.messageTypes.filter { described[$0] == nil }))
                case .backingOff, .failed, .stopped:
                    return (state.version, .failed(reason: state.lastFailure ?? "the process is not running"))
                }
            }
            if let outcome { return outcome }
            await waitForPhaseChange(from: version)
        }
    }

    /// The router operations for the configured message types. Their descriptors come from the
    /// handshake (prefix, stages, timeout) when it described them; the configured `timeoutMs`
    /// overrides the described timeout.
    func operations() -> [AnyOperation] {
        let described = state.withLock { $0.described } ?? [:]
        return entry.messageTypes.map { type in
            let operation = described[type]
            let declared = operation?.timeoutMs.map { Duration.milliseconds($0) }
            let effective = entry.timeoutMs.map { Duration.milliseconds($0) } ?? declared ?? settings.defaultTimeout
            let descriptor = OperationDescriptor(
                messageType: type, eventPrefix: operation?.prefix, timeout: effective, declaredTimeout: declared ?? effective,
                stages: operation?.stages ?? [], pluginName: entry.name)
            return AnyOperation(descriptor: descriptor) { [self] data, context in
                try await perform(type, data: data, context: context)
            }
        }
    }

    /// Stops supervising: fails requests still in flight, closes the process's stdin and waits up
    /// to `shutdownGrace` for it to exit, then sends SIGTERM and, a second later, SIGKILL.
    func stop() async {
        let (child, pending, waiters) = state.withLock { state -> (ExternalPluginChild?, [Pending], [CheckedContinuation<Void, Never>]) in
            var child: ExternalPluginChild?
            switch state.phase {
            case .starting(let running), .ready(let running): child = running
            case .stopped: return (nil, [], [])
            default: break
            }
            let pending = Array(state.pending.values)
            state.pending.removeAll()
            return (child, pending, state.enter(.stopped))
        }
        for waiter in waiters { waiter.resume() }
        for request in pending {
            request.continuation?.yield(.ended("plugin \(name) is shutting down"))
            request.continuation?.finish()
        }
        guard let child else { return }
        child.closeStdin()
        if await child.waitForEnd(timeout: settings.shutdownGrace) { return }
        logger.warning("plugin process did not exit after its stdin was closed: sending SIGTERM")
        child.signal(SIGTERM)
        if await child.waitForEnd(timeout: .seconds(1)) { return }
        child.kill(reason: "it did not exit at shutdown after its stdin was closed and SIGTERM")
        _ = await child.waitForEnd(timeout: .seconds(1))
    }

    /// Launches a process unless one runs or the supervisor stopped. `isRestart`: called at the end of a
    /// restart's backoff (one that finds the supervisor stopped is counted in ``Status/restartsAbandoned``).
    private func launch(isRestart: Bool = false) {
        let number = state.withLock { state -> Int? in
            switch state.phase {
            case .idle, .backingOff:
                state.launches += 1
                state.handshakeFailure = nil
                state.ignoredDuringHandshake = nil
                return state.launches
            case .stopped:
                if isRestart { state.restartsAbandoned += 1 }
                return nil
            default: return nil
            }
        }
        guard let number else { return }
        let child: ExternalPluginChild
        do {
            child = try ExternalPluginChild.launch(
                number: number, pluginName: name, command: entry.command, environment: entry.env,
                onLine: { [self] child, line in received(line, from: child) },
                onStderr: { [self] line in logger.info("stderr: \(line)") },
                onEnd: { [self] child, description in ended(child, description: description) })
        } catch {
            failed("could not start its command: \(error.description)", uptime: .zero)
            return
        }
        let (waiters, stopped) = state.withLock { state -> ([CheckedContinuation<Void, Never>], Bool) in
            if case .stopped = state.phase { return ([], true) }
            return (state.enter(.starting(child)), false)
        }
        for waiter in waiters { waiter.resume() }
        if stopped {
            child.kill(reason: "the host stopped the plugin while it started")
            return
        }
        logger.info("started plugin process (pid \(child.pid)): \(entry.command.joined(separator: " "))")
        child.send(ExternalPluginProtocol.describeLine())
        let timeout = settings.describeTimeout
        Task(executorPreference: RouterExecutors.control) { [self] in
            try? await Task.sleep(for: timeout)
            let stillStarting = state.withLock { state -> Bool in
                guard case .starting(let current) = state.phase, current === child else { return false }
                let ignored = state.ignoredDuringHandshake.map { " (ignored: \($0))" } ?? ""
                state.handshakeFailure = "no valid describe answer within \(Self.describe(timeout))\(ignored)"
                return true
            }
            if stillStarting {
                logger.error("plugin process did not answer describe within \(Self.describe(timeout)): killing it")
                child.kill(reason: "it did not answer describe within \(Self.describe(timeout))")
            }
        }
    }

    /// The process could not be started, or ended: schedule a restart or give up.
    private func failed(_ reason: String, uptime: Duration) {
        enum Next { case nothing, giveUp, restart(after: Duration) }
        let (waiters, next) = state.withLock { state -> ([CheckedContinuation<Void, Never>], Next) in
            if case .stopped = state.phase { return ([], .nothing) }
            state.lastFailure = reason
            guard entry.restart else { return (state.enter(.failed), .giveUp) }
            if uptime >= settings.stableUptime { state.backoff = settings.initialBackoff }
            let delay = state.backoff
            state.backoff = min(state.backoff * 2, settings.maximumBackoff)
            return (state.enter(.backingOff(until: .now + delay)), .restart(after: delay))
        }
        for waiter in waiters { waiter.resume() }
        switch next {
        case .nothing:
            break
        case .giveUp:
            logger.error("plugin \(name) is unavailable: \(reason) (restart is off)")
        case .restart(let delay):
            logger.error("plugin \(name) is unavailable: \(reason); restarting in \(Self.describe(delay))")
            Task(executorPreference: RouterExecutors.control) { [self] in
                try? await Task.sleep(for: delay)
                launch(isRestart: true)
            }
        }
    }

    private func ended(_ child: ExternalPluginChild, description: String) {
        let (wasCurrent, pending, handshakeFailure) = state.withLock { state -> (Bool, [Pending], String?) in
            let ids = state.pending.filter { $0.value.child === child }.map(\.key)
            let pending = ids.compactMap { state.pending.removeValue(forKey: $0) }
            switch state.phase {
            case .starting(let current) where current === child:
                // Died (or was killed) before answering describe.
                if let failure = state.handshakeFailure { return (true, pending, failure) }
                let ignored = state.ignoredDuringHandshake.map { " (ignored: \($0))" } ?? ""
                return (true, pending, "\(description) before answering describe\(ignored)")
            case .ready(let current) where current === child:
                return (true, pending, nil)
            default:
                return (false, pending, nil)
            }
        }
        for request in pending {
            request.continuation?.yield(.ended(description))
            request.continuation?.finish()
        }
        guard wasCurrent else { return }
        let uptime = ContinuousClock.now - child.startedAt
        let inFlight = pending.filter { $0.continuation != nil }.count
        if inFlight > 0 {
            let ids = pending.filter { $0.continuation != nil }.map { "\"\($0.clientID)\" (\($0.messageType))" }
            logger.error("\(description); \(inFlight) request(s) in flight failed: \(ids.joined(separator: ", "))")
        }
        failed(handshakeFailure ?? description, uptime: uptime)
    }

    // MARK: - Messages from the process

    private func received(_ line: [UInt8]?, from child: ExternalPluginChild) {
        guard let line else {
            logger.warning("ignoring a line over \(ExternalPluginProtocol.maximumLineLength) bytes from the plugin")
            return
        }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        let message: ExternalPluginProtocol.Message
        do {
            message = try ExternalPluginProtocol.parse(line)
        } catch {
            let preview = String(decoding: line.prefix(200), as: UTF8.self)
            logger.warning("ignoring malformed line from the plugin: \(error.reason): \(preview)\(line.count > 200 ? "…" : "")")
            state.withLock { state in
                if case .starting(let current) = state.phase, current === child { state.ignoredDuringHandshake = error.reason }
            }
            return
        }
        switch message {
        case .describe(let operations):
            describeReceived(operations, from: child)
        case .progress(let id, let stage, let fraction, let text):
            route(id, .progress(stage: stage, fraction: fraction, message: text), final: false, from: child)
        case .chunk(let id, let data):
            route(id, .chunk(data), final: false, from: child)
        case .result(let id, let data):
            route(id, .result(data), final: true, from: child)
        case .error(let id, let code, let text):
            route(id, .error(code: code, message: text), final: true, from: child)
        }
    }

    private func describeReceived(_ operations: [ExternalPluginProtocol.DescribedOperation], from child: ExternalPluginChild) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
            guard case .starting(let current) = state.phase, current === child else { return nil }
            var described: [String: ExternalPluginProtocol.DescribedOperation] = [:]
            for operation in operations where described[operation.type] == nil { described[operation.type] = operation }
            state.described = described
            return state.enter(.ready(child))
        }
        guard let waiters else {
            logger.warning("ignoring an unexpected describe answer (the handshake is over)")
            return
        }
        for waiter in waiters { waiter.resume() }
        let types = operations.map(\.type)
        logger.info("plugin process (pid \(child.pid)) ready: \(types.isEmpty ? "no operations" : types.joined(separator: ", "))")
        for type in entry.messageTypes where !types.contains(type) {
            logger.error("plugin does not describe its configured operation \"\(type)\": requests for it will fail")
        }
        for type in types where !entry.messageTypes.contains(type) {
            logger.notice("ignoring described operation \"\(type)\": it is not in the plugin's messageTypes")
        }
    }

    private func route(_ id: String, _ incoming: Incoming, final: Bool, from child: ExternalPluginChild) {
        enum Routing { case deliver(AsyncStream<Incoming>.Continuation), dropped, unknown }
        let routing = state.withLock { state -> Routing in
            guard let pending = state.pending[id], pending.child === child else { return .unknown }
            if final { state.pending[id] = nil }
            return pending.continuation.map { .deliver($0) } ?? .dropped
        }
        switch routing {
        case .deliver(let continuation):
            continuation.yield(incoming)
            if final { continuation.finish() }
        case .dropped:
            break  // a message for a cancelled request (its final one acknowledges the cancel)
        case .unknown:
            logger.debug("ignoring a message for unknown request id \"\(id)\"")
        }
    }

    // MARK: - Requests

    private func perform(_ type: String, data: JSONValue, context: OperationContext) async throws -> JSONValue {
        let child = try await readyChild(for: type, context: context)
        let (stream, continuation) = AsyncStream.makeStream(of: Incoming.self)
        let id = state.withLock { state -> String? in
            guard case .ready(let current) = state.phase, current === child else { return nil }
            state.nextRequest += 1
            let id = "r\(state.nextRequest)"
            state.pending[id] = Pending(child: child, messageType: type, clientID: context.requestID, continuation: continuation)
            return id
        }
        guard let id else {
            throw unavailable(type, state.withLock { $0.lastFailure } ?? "the process stopped")
        }
        defer { cancelIfPending(id) }
        let remaining = context.deadline.remaining
        let deadlineMs = max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
        child.send(ExternalPluginProtocol.requestLine(id: id, operation: type, data: data, deadlineMs: deadlineMs))
        return try await withTaskCancellationHandler {
            for await incoming in stream {
                switch incoming {
                case .progress(let stage, let fraction, let message):
                    context.progress(stage, fraction, message: message)
                case .chunk(let data):
                    try await context.emit(data)
                case .result(let data):
                    return data
                case .error(let code, let message):
                    let valid = code.flatMap { ExternalPluginProtocol.isValidErrorCode($0) ? $0 : nil }
                    throw OperationError(code: valid ?? ErrorCode.failed(type), message: message)
                case .ended(let description):
                    throw OperationError(code: ErrorCode.failed(type), message: description)
                }
            }
            throw CancellationError()
        } onCancel: {
            cancelIfPending(id)
        }
    }

    /// If request `id` has not finished: stop delivering its messages, send `cancel`, and kill the
    /// process if it has not finished the request `cancelGrace` later.
    private func cancelIfPending(_ id: String) {
        let cancelled = state.withLock { state -> (ExternalPluginChild, AsyncStream<Incoming>.Continuation, Pending)? in
            guard var pending = state.pending[id], let continuation = pending.continuation else { return nil }
            pending.continuation = nil
            state.pending[id] = pending
            return (pending.child, continuation, pending)
        }
        guard let (child, continuation, request) = cancelled else { return }
        continuation.finish()
        child.send(ExternalPluginProtocol.cancelLine(id: id))
        let grace = settings.cancelGrace
        Task(executorPreference: RouterExecutors.control) { [self] in
            try? await Task.sleep(for: grace)
            let stuck = state.withLock { state in
                let stuck = state.pending[id].map { $0.child === child } ?? false
                if !stuck { state.cancelsHonoured += 1 }
                return stuck
            }
            if stuck {
                let what = "cancelled request \"\(request.clientID)\" (\(request.messageType), plugin id \(id))"
                logger.warning(
                    "plugin process (pid \(child.pid)) did not finish \(what) within \(Self.describe(grace)) of its cancel: killing it",
                    metadata: ["op.id": request.clientID])
                child.kill(reason: "it did not finish \(what) within \(Self.describe(grace)) of its cancel")
            }
        }
    }

    /// Waits, if needed, for a process that has answered `describe`.
    private func readyChild(for type: String, context: OperationContext) async throws -> ExternalPluginChild {
        /// The launch count when this request started waiting for a (re)start.
        var waitedAfterLaunch: Int?
        while true {
            try Task.checkCancellation()
            enum Decision { case ready(ExternalPluginChild), fail(String), wait(Int) }
            let remaining = context.deadline.remaining
            let decision = state.withLock { state -> Decision in
                switch state.phase {
                case .ready(let child):
                    if let described = state.described, described[type] == nil {
                        let listed = described.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                        return .fail("its describe answer does not list \"\(type)\" (it lists: \(listed.isEmpty ? "nothing" : listed))")
                    }
                    return .ready(child)
                case .idle:
                    return .wait(state.version)
                case .starting:
                    if waitedAfterLaunch == nil { waitedAfterLaunch = state.launches - 1 }
                    return .wait(state.version)
                case .backingOff(let until):
                    let reason = state.lastFailure ?? "the process is not running"
                    if let waited = waitedAfterLaunch, state.launches > waited { return .fail(reason) }
                    let delay = ContinuousClock.now.duration(to: until)
                    if delay > remaining { return .fail("\(reason); next restart in \(Self.describe(delay))") }
                    waitedAfterLaunch = state.launches
                    return .wait(state.version)
                case .failed:
                    return .fail(state.lastFailure ?? "the process is not running")
                case .stopped:
                    return .fail("the host is shutting down")
                }
            }
            switch decision {
            case .ready(let child): return child
            case .fail(let reason): throw unavailable(type, reason)
            case .wait(let version): await waitForPhaseChange(from: version)
            }
        }
    }

    private func unavailable(_ type: String, _ reason: String) -> OperationError {
        OperationError(code: ErrorCode.failed(type), message: "plugin \(name) is unavailable: \(reason)")
    }

    /// Returns once the phase is no longer the one of `version` (or the task is cancelled).
    private func waitForPhaseChange(from version: Int) async {
        let key = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLock { state -> Bool in
                    guard state.version == version, !Task.isCancelled else { return false }
                    state.waiters[key] = continuation
                    return true
                }
                if !registered { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: key) }?.resume()
        }
    }

    static func describe(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        return ms >= 1000 ? String(format: "%.1f s", Double(ms) / 1000) : "\(ms) ms"
    }
}
