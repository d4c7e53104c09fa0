public import RouterCore
#if canImport(Testing)
import Testing
#endif

/// Runs one handler on one request, with no sockets, and returns the exact events it produced.
///
/// It uses the router's own runner: the same decoding and `bad_request` paths, deadline race,
/// progress coalescing and final-event rule as a live session. It also behaves like a live client's
/// connection where a handler can get stuck: an `emit` suspended while the harness is not writable
/// ends (throws `CancellationError`) when the request is cancelled or times out.
///
/// It cannot hang a test suite: every run has a real-time limit (``defaultTimeLimit``). A run that
/// passes it is cancelled, fails the current test with a message, and returns what was recorded,
/// followed by an `.error(code: "harness_time_limit", …)` event. A progress report for a stage the
/// handler did not declare also fails the current test (a live session only drops it).
///
/// ```swift
/// let clock = ManualClock()
/// let harness = OperationHarness(MemorySearchHandler(), clock: clock, services: services)
/// let events = await harness.run(json: #"{"query":"tea","limit":3}"#)
/// #expect(events == [.progress("score", 0, 0), .complete(["results": []])])
/// ```
public struct OperationHarness<Handler: OperationHandler>: Sendable {
    /// The time limit of a run unless the harness is given another: 30 s of real time.
    public static var defaultTimeLimit: Duration { .seconds(30) }
    /// The code of the event a run that passed its time limit ends with.
    public static var timeLimitCode: String { "harness_time_limit" }

    public let handler: Handler
    /// The real time a run may take before it is cancelled and fails its test.
    public let timeLimit: Duration
    private let runner: LocalOperationRunner

    /// - Parameters:
    ///   - clock: drives the deadline, coalescing and `elapsedMs` (a ``ManualClock`` for timeout tests).
    ///   - timeout: a configured override of the handler's declared timeout.
    ///   - progressInterval: the minimum time between two progress events (router default 100 ms).
    ///   - timeLimit: real time a run may take (whatever `clock` is) before it fails the test.
    public init(
        _ handler: Handler, clock: any Clock<Duration> = ContinuousClock(), services: ServiceRegistry = ServiceRegistry(),
        logger: Logger = .disabled, timeout: Duration? = nil, progressInterval: Duration = .milliseconds(100),
        timeLimit: Duration = Self.defaultTimeLimit
    ) {
        self.handler = handler
        self.timeLimit = timeLimit
        self.runner = LocalOperationRunner(
            operation: AnyOperation(handler, timeout: timeout), clock: clock, services: services, logger: logger,
            progressInterval: progressInterval)
    }

    /// Runs the request whose `data` object is `json`. Invalid JSON or data that does not decode
    /// yields a single `bad_request` error, as the router would send.
    public func run(json: String, timeout: Duration? = nil) async -> [RecordedEvent] {
        await run(json: json, timeout: timeout) { _ in }
    }

    /// Runs an already-typed request.
    public func run(_ request: Handler.Request, timeout: Duration? = nil) async -> [RecordedEvent] {
        await run(request, timeout: timeout) { _ in }
    }

    /// Runs the request while `body` runs concurrently with a ``Control`` (to cancel, or to wait for events).
    public func run(
        json: String, timeout: Duration? = nil, during body: @escaping @Sendable (Control) async -> Void
    ) async -> [RecordedEvent] {
        guard let data = Self.parse(json) else { return [Self.invalidJSON(json)] }
        let runner = self.runner
        return await execute(Control(), body: body) { control in
            await runner.run(
                data: data, timeout: timeout, requestID: "test", target: control.recorder, cancel: control.cancelHandle)
        }
    }

    /// Runs a typed request while `body` runs concurrently with a ``Control``.
    public func run(
        _ request: Handler.Request, timeout: Duration? = nil, during body: @escaping @Sendable (Control) async -> Void
    ) async -> [RecordedEvent] {
        let runner = self.runner
        let handler = self.handler
        return await execute(Control(), body: body) { control in
            await runner.run(
                handler, request: request, timeout: timeout, requestID: "test", target: control.recorder,
                cancel: control.cancelHandle)
        }
    }

    /// Runs a typed request and cancels it from inside the event path, the moment its `count`-th event
    /// is recorded: unlike a concurrent ``Control/cancel()``, this cannot lose the race to a fast handler.
    public func run(_ request: Handler.Request, timeout: Duration? = nil, cancellingAfterEvents count: Int) async
        -> [RecordedEvent]
    {
        let runner = self.runner
        let handler = self.handler
        let control = Control()
        control.recorder.cancel(control.cancelHandle, afterEvents: count)
        return await execute(control, body: nil) { control in
            await runner.run(
                handler, request: request, timeout: timeout, requestID: "test", target: control.recorder,
                cancel: control.cancelHandle)
        }
    }

    /// Runs the request whose `data` object is `json` and cancels it the moment its `count`-th event is
    /// recorded (see ``run(_:timeout:cancellingAfterEvents:)``).
    public func run(json: String, timeout: Duration? = nil, cancellingAfterEvents count: Int) async -> [RecordedEvent] {
        guard let data = Self.parse(json) else { return [Self.invalidJSON(json)] }
        let runner = self.runner
        let control = Control()
        control.recorder.cancel(control.cancelHandle, afterEvents: count)
        return await execute(control, body: nil) { control in
            await runner.run(
                data: data, timeout: timeout, requestID: "test", target: control.recorder, cancel: control.cancelHandle)
        }
    }

    private static func parse(_ json: String) -> JSONValue? {
        try? JSONValue(jsonText: json)
    }

    private static func invalidJSON(_ json: String) -> RecordedEvent {
        do {
            _ = try JSONValue(jsonText: json)
            return .error(code: ErrorCode.badRequest, message: "data: invalid request")
        } catch {
            return .error(code: ErrorCode.badRequest, message: error.description)
        }
    }

    /// Runs `start` (and `body` beside it) in a task of its own, and waits for it at most ``timeLimit``.
    private func execute(
        _ control: Control, body: (@Sendable (Control) async -> Void)?, start: @escaping @Sendable (Control) async -> Void
    ) async -> [RecordedEvent] {
        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await start(control) }
                if let body { group.addTask { await body(control) } }
                await group.waitForAll()
            }
        }
        let finishedInTime = await TimeLimit.race(work, limit: timeLimit)
        var events = control.events
        for stage in control.recorder.undeclaredStages {
            Self.fail("\(Handler.self) reported progress for the undeclared stage \(stage) (a live session drops it)")
        }
        if !finishedInTime {
            control.cancel()
            work.cancel()
            let message =
                "\(Handler.self) did not finish within the harness's time limit of \(timeLimit) (events so far: \(events.map(\.description).joined(separator: ", ")))"
            Self.fail(message)
            events.append(.error(code: Self.timeLimitCode, message: message))
        }
        return events
    }

    private static func fail(_ message: String) {
        #if canImport(Testing)
        Issue.record(Comment(rawValue: message))
        #endif
    }

    /// Observes and steers a running request.
    public final class Control: Sendable {
        let recorder = Recorder()
        let cancelHandle = CancelHandle()

        /// Sends the request a `cancel`, as a client would.
        public func cancel() { cancelHandle.cancel() }
        /// The events so far.
        public var events: [RecordedEvent] { recorder.events }
        /// Suspends until at least `count` events were recorded (or the request ended).
        public func waitForEvents(_ count: Int) async { await recorder.waitFor(count) }
        /// Lets the recorder report the client as slow (`false`) or draining (`true`): `emit` suspends meanwhile.
        public func setWritable(_ writable: Bool) { recorder.setWritable(writable) }
        /// Holds the handler mid-stage: the moment the `count`-th event is recorded the client turns slow,
        /// so the handler's next `emit` suspends (until ``setWritable(_:)`` with `true`, a cancel or the
        /// timeout). Decided in the event path, so a fast handler cannot run past it once this was called:
        /// call it before the handler starts (hold the start with ``HandlerProbe``'s gate).
        public func holdEmits(afterEvents count: Int) { recorder.holdEmits(afterEvents: count) }
        /// Suspends until a handler is suspended in `emit` waiting for the client.
        public func waitUntilEmitIsHeld() async { await recorder.waitForBlockedEmit() }
    }
}

/// Waits for a task at most a given real time, without waiting for it past that.
enum TimeLimit {
    /// True if `work` ended within `limit`.
    static func race(_ work: Task<Void, Never>, limit: Duration) async -> Bool {
        let decided = Locked<CheckedContinuation<Bool, Never>?>(nil)
        let timer = Locked<Task<Void, Never>?>(nil)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            decided.withLock { $0 = continuation }
            let resume: @Sendable (Bool) -> Void = { value in
                decided.withLock { pending in
                    defer { pending = nil }
                    return pending
                }?.resume(returning: value)
            }
            timer.withLock {
                $0 = Task {
                    try? await Task.sleep(for: limit, clock: .continuous)
                    if !Task.isCancelled { resume(false) }
                }
            }
            Task {
                await work.value
                timer.withLock { $0 }?.cancel()
                resume(true)
            }
        }
    }
}

/// Records events; refuses everything after the final one (as a session does). Like a live connection,
/// it wakes a suspended `emit` with "gone" when the request is over or its task is cancelled.
final class Recorder: OperationEventTarget {
    private struct State {
        var events: [RecordedEvent] = []
        var finished = false
        var writable = true
        var nextWaiterID: UInt64 = 0
        var writableWaiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var blockedWaiters: [CheckedContinuation<Void, Never>] = []
        var countWaiters: [(Int, CheckedContinuation<Void, Never>)] = []
        var cancelAfter: (count: Int, handle: CancelHandle)?
        var holdAfter: Int?
        var undeclaredStages: [String] = []
    }

    private let state = Locked(State())

    var events: [RecordedEvent] { state.withLock { $0.events } }
    var undeclaredStages: [String] { state.withLock { $0.undeclaredStages } }

    func deliver(_ event: OperationEvent) -> Bool {
        let recorded: RecordedEvent
        switch event {
        case .progress(let stage, let stageIndex, _, let progress, let message):
            recorded = .progress(stage: stage, stageIndex: stageIndex, progress: progress, message: message)
        case .chunk(let index, let fields):
            recorded = .chunk(index: index, json: .object(fields.values))
        case .complete(let fields, _):
            recorded = .complete(.object(fields.values))
        case .failure(let code, let message, _):
            recorded = .error(code: code, message: message)
        }
        let (accepted, ready, cancel, gone) = state.withLock {
            state -> (Bool, [CheckedContinuation<Void, Never>], CancelHandle?, [CheckedContinuation<Bool, Never>]) in
            guard !state.finished else { return (false, [], nil, []) }
            state.events.append(recorded)
            if recorded.isFinal { state.finished = true }
            let count = state.events.count
            let finished = state.finished
            if state.holdAfter == count { state.writable = false }
            let ready = state.countWaiters.filter { finished || $0.0 <= count }.map(\.1)
            state.countWaiters.removeAll { finished || $0.0 <= count }
            let cancel = state.cancelAfter.flatMap { $0.count == count && !finished ? $0.handle : nil }
            // The request is over: a handler suspended in `emit` learns it at once, as from a live session.
            var gone: [CheckedContinuation<Bool, Never>] = []
            var blocked: [CheckedContinuation<Void, Never>] = []
            if finished {
                gone = Array(state.writableWaiters.values)
                state.writableWaiters = [:]
                blocked = state.blockedWaiters
                state.blockedWaiters = []
            }
            return (true, ready + blocked, cancel, gone)
        }
        for waiter in ready { waiter.resume() }
        for waiter in gone { waiter.resume(returning: false) }
        cancel?.cancel()
        return accepted
    }

    func undeclaredStage(_ stage: String, declared: [String]) {
        let text = "\"\(stage)\" (declared: \(declared.map { "\"\($0)\"" }.joined(separator: ", ")))"
        state.withLock { $0.undeclaredStages.append(text) }
    }

    /// Fires `handle` synchronously when the `count`-th event is recorded.
    func cancel(_ handle: CancelHandle, afterEvents count: Int) {
        state.withLock { $0.cancelAfter = (count, handle) }
    }

    /// Turns the client slow synchronously when the `count`-th event is recorded.
    func holdEmits(afterEvents count: Int) {
        state.withLock { state in
            if state.events.count >= count { state.writable = false } else { state.holdAfter = count }
        }
    }

    func waitFor(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.finished || state.events.count >= count { return true }
                state.countWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Returns once an `emit` is suspended waiting for the client (or the request is over).
    func waitForBlockedEmit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.finished || !state.writableWaiters.isEmpty { return true }
                state.blockedWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func setWritable(_ writable: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.writable = writable
            state.holdAfter = nil
            guard writable else { return [] }
            defer { state.writableWaiters = [:] }
            return Array(state.writableWaiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    func waitUntilWritable() async -> Bool {
        let waiterID = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let (answer, blocked) = state.withLock { state -> (Bool?, [CheckedContinuation<Void, Never>]) in
                    if state.finished { return (false, []) }
                    if state.writable { return (true, []) }
                    // A cancel that landed before this registration found no waiter to resume (as in ConnectionHandle).
                    if Task.isCancelled { return (false, []) }
                    state.writableWaiters[waiterID] = continuation
                    defer { state.blockedWaiters = [] }
                    return (nil, state.blockedWaiters)
                }
                for waiter in blocked { waiter.resume() }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.writableWaiters.removeValue(forKey: waiterID) }
            waiter?.resume(returning: false)
        }
    }
}
