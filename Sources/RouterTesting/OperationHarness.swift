@_spi(RouterTesting) public import RouterCore

/// Runs one handler on one request, with no sockets, and returns the exact events it produced.
///
/// It uses the router's own runner: the same decoding and `bad_request` paths, deadline race,
/// progress coalescing and final-event rule as a live session.
///
/// ```swift
/// let clock = ManualClock()
/// let harness = OperationHarness(MemorySearchHandler(), clock: clock, services: services)
/// let events = await harness.run(json: #"{"query":"tea","limit":3}"#)
/// #expect(events == [.progress("score", 0, 0), .complete(["results": []])])
/// ```
public struct OperationHarness<Handler: OperationHandler>: Sendable {
    public let handler: Handler
    private let runner: LocalOperationRunner

    /// - Parameters:
    ///   - clock: drives the deadline, coalescing and `elapsedMs` (a ``ManualClock`` for timeout tests).
    ///   - timeout: a configured override of the handler's declared timeout.
    ///   - progressInterval: the minimum time between two progress events (router default 100 ms).
    public init(
        _ handler: Handler, clock: any Clock<Duration> = ContinuousClock(), services: ServiceRegistry = ServiceRegistry(),
        logger: Logger = .disabled, timeout: Duration? = nil, progressInterval: Duration = .milliseconds(100)
    ) {
        self.handler = handler
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
        let data: JSONValue
        do {
            data = try JSONValue(jsonText: json)
        } catch {
            return [.error(code: ErrorCode.badRequest, message: error.description)]
        }
        let runner = self.runner
        return await withControl(body) { control in
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
        return await withControl(body) { control in
            await runner.run(
                handler, request: request, timeout: timeout, requestID: "test", target: control.recorder,
                cancel: control.cancelHandle)
        }
    }

    private func withControl(
        _ body: @escaping @Sendable (Control) async -> Void, run: @escaping @Sendable (Control) async -> Void
    ) async -> [RecordedEvent] {
        let control = Control()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await run(control) }
            group.addTask { await body(control) }
            await group.waitForAll()
        }
        return control.events
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
    }
}

/// Records events; refuses everything after the final one (as a session does).
final class Recorder: OperationEventTarget {
    private struct State {
        var events: [RecordedEvent] = []
        var finished = false
        var writable = true
        var writableWaiters: [CheckedContinuation<Bool, Never>] = []
        var countWaiters: [(Int, CheckedContinuation<Void, Never>)] = []
    }

    private let state = Locked(State())

    var events: [RecordedEvent] { state.withLock { $0.events } }

    func deliver(_ event: OperationEvent) -> Bool {
        let recorded: RecordedEvent
        switch event {
        case .progress(let stage, let stageIndex, _, let progress, let message):
            recorded = .progress(stage: stage, stageIndex: stageIndex, progress: progress, message: message)
        case .chunk(let index, let fields):
            recorded = .chunk(index: index, json: .object(fields))
        case .complete(let fields, _):
            recorded = .complete(.object(fields))
        case .failure(let code, let message, _):
            recorded = .error(code: code, message: message)
        }
        let (accepted, ready) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard !state.finished else { return (false, []) }
            state.events.append(recorded)
            if recorded.isFinal { state.finished = true }
            let count = state.events.count
            let finished = state.finished
            let ready = state.countWaiters.filter { finished || $0.0 <= count }.map(\.1)
            state.countWaiters.removeAll { finished || $0.0 <= count }
            return (true, ready)
        }
        for waiter in ready { waiter.resume() }
        return accepted
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

    func setWritable(_ writable: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.writable = writable
            guard writable else { return [] }
            defer { state.writableWaiters = [] }
            return state.writableWaiters
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    func waitUntilWritable() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                if state.finished { return false }
                if state.writable { return true }
                state.writableWaiters.append(continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }
}
