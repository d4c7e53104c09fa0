import Foundation

/// Runs one request: the handler races its deadline and its cancel signal.
///
/// The first of the three to end decides the request's single final event and delivers it at once:
/// the handler's task when it returns, the clock's timer (``OperationClock/schedule``) at the
/// deadline, the signal's action when it fires. The other two then only cancel the handler. A handler
/// that ignores cancellation therefore cannot delay the final message or keep its slot (the session
/// frees it when the final event is delivered); its later progress and chunks the channel drops.
///
/// One task per request: the handler's, on the handler executor. No task waits for the deadline or
/// the signal, so a request that ends in microseconds costs one task and one timer entry.
struct OperationRunner {
    fileprivate enum RunOutcome: Sendable {
        case finished(Result<ResultFields, any Error>)
        case timedOut
        case cancelled
    }

    let descriptor: OperationDescriptor
    let channel: RequestChannel
    let context: OperationContext
    let clock: OperationClock
    let startedAt: Duration
    /// A signal made before the run (the harness's ``CancelHandle``); nil for a session's request, whose run
    /// is its own canceller (``RequestRun/fire()``).
    var cancelSignal: CancelSignal? = nil
    /// Where the handler runs.
    var handlerExecutor: any TaskExecutor = RouterExecutors.handlers
    /// Where a handler that keeps running after its request ended is counted (`router_handlers_overrunning`).
    var metrics: OperationMetrics? = nil
    /// How long a handler may take to stop after its request timed out or was cancelled before it is
    /// reported as overrunning.
    var overrunGrace: Duration = .seconds(1)

    /// The request's run, not started yet: a session keeps it as the request's canceller, then starts it
    /// (``RequestRun/start()``).
    /// Consuming: the run takes this runner's fields over rather than copying them (one reference count
    /// each, for a dozen fields per request).
    consuming func prepareRun(_ operation: PreparedOperation) -> RequestRun {
        RequestRun(self, operation)
    }

    /// Runs to the final event and returns it (whether or not the target still accepted it). Returns
    /// once the handler has returned too.
    @discardableResult
    func run(_ operation: PreparedOperation) async -> OperationEvent {
        let run = RequestRun(self, operation)
        await withTaskCancellationHandler {
            await run.start().value
        } onCancel: {
            run.fire()
        }
        // The request may have been ended by its deadline or its cancel, on another thread: wait until that
        // final event is delivered, not only until the handler returned.
        await run.waitUntilDelivered()
        return channel.finalEvent ?? .failure(code: ErrorCode.cancelled, message: "request cancelled", outcome: .cancelled)
    }

    /// The final event for `outcome`.
    fileprivate func event(for outcome: RunOutcome) -> OperationEvent {
        let type = descriptor.messageType
        switch outcome {
        case .finished(.success(let fields)):
            return .complete(fields: fields, elapsed: clock.now() - startedAt)
        case .finished(.failure(let error)):
            return failureEvent(for: error)
        case .timedOut:
            let limit = Self.milliseconds(context.deadline.timeout)
            let stage = channel.reachedStageDescription.map { "during stage \($0)" } ?? "before reporting progress"
            context.logger.notice("request timed out", metadata: ["timeout.ms": "\(limit)"])
            return .failure(
                code: ErrorCode.timeout(type), message: "\(type) exceeded its \(limit) ms timeout \(stage)",
                outcome: .timedOut)
        case .cancelled:
            return .failure(code: ErrorCode.cancelled, message: "request cancelled", outcome: .cancelled)
        }
    }

    private func failureEvent(for error: any Error) -> OperationEvent {
        let type = descriptor.messageType
        if let clientFacing = error as? any ClientFacingError {
            return .failure(code: clientFacing.code, message: clientFacing.message, outcome: .failed)
        }
        if error is CancellationError {
            // The handler gave up because its request is over (connection gone) or it was cancelled.
            return .failure(code: ErrorCode.cancelled, message: "request cancelled", outcome: .cancelled)
        }
        context.logger.error("handler failed", metadata: ["error": String(reflecting: error)])
        if let localized = error as? any LocalizedError, let description = localized.errorDescription {
            return .failure(code: ErrorCode.failed(type), message: "\(type) failed: \(description)", outcome: .failed)
        }
        if let collision = error as? EnvelopeFieldCollision {
            return .failure(code: ErrorCode.failed(type), message: "\(type) failed: \(collision)", outcome: .failed)
        }
        if error is MissingServiceError {
            // The log above names the type; the client learns only that the server is not set up for it.
            return .failure(
                code: ErrorCode.failed(type), message: "\(type) failed: a service it needs is not available on this server",
                outcome: .failed)
        }
        if error is EncodingError {
            return .failure(
                code: ErrorCode.failed(type), message: "\(type) failed: its result could not be encoded", outcome: .failed)
        }
        return .failure(
            code: ErrorCode.failed(type), message: "\(type) failed with an internal error (request \(context.requestID))",
            outcome: .failed)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// One request's run: the once-only decision of which outcome ends it (handler, deadline or cancel),
/// the handler's task (the cancel may fire before it exists), the timer entry to stop when it ends, and
/// the watch on a handler that overruns. One object with its lock inline, which is also the request's
/// canceller, so a request costs few allocations; the closures it schedules capture only it.
final class RequestRun: TimerAction, CancelAction, RequestCanceller {
    private struct State {
        /// Fired as a ``RequestCanceller`` (a client `cancel`, the session's end): once.
        var fired = false
        var started = false
        var concluded = false
        var pending: ScheduledAction?
        var task: Task<Void, Never>?
        var cancelled = false
        var handlerEnded = false
        var watch: OverrunWatch?
        var isDelivered = false
        var deliveryWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let runner: OperationRunner
    /// Held here so that the handler's task captures this run alone (a closure capturing the operation
    /// too needs a context of its own: one allocation more per request).
    private let operation: PreparedOperation
    private let state = InlineLocked(State())

    init(_ runner: consuming OperationRunner, _ operation: PreparedOperation) {
        self.runner = runner
        self.operation = operation
    }

    @discardableResult
    func start() -> Task<Void, Never> {
        let firedBefore = state.withLock { state -> Bool in
            state.started = true
            return state.fired
        }
        if firedBefore {
            // Cancelled before it started (its session ended, or its client cancelled, in between): it ends
            // cancelled, and its handler never runs.
            handlerEnded()
            conclude(.cancelled)
            return Task(executorPreference: RouterExecutors.control) {}
        }
        // The cancel action is registered before the handler starts. The signal may fire inside an event
        // delivery (the harness's "cancel after N events"), under the channel's lock: the channel then
        // refuses the handler's next `emit` at once, the handler's task is cancelled as soon as it exists,
        // and the final event is delivered from a task of its own (if the handler has not ended first).
        runner.cancelSignal?.onFire(self)
        // One timer entry at a time: the quiet start's end, then the deadline. A request that ends
        // within the quiet start (most do) never schedules its deadline. Scheduled before the handler
        // starts, so that nothing here waits for a lock the handler holds.
        let deadline = runner.context.deadline.endsAt
        if let quietUntil = runner.channel.quietUntil, quietUntil < deadline {
            // The timer groups quiet-start ends (see ``OperationClock/scheduleGrouped``), which spares its
            // heap once per request; the entry is this run itself (``timerFired()``), so it costs no
            // allocation. The request's end cancels its entry, which releases this run (and everything it
            // holds) on the thread that ended it rather than a quiet period later on the timer's.
            keep(runner.clock.scheduleGrouped(quietUntil, self))
        } else {
            keep(scheduleDeadline())
        }
        let work = Task(executorPreference: runner.handlerExecutor) { [self] in
            let outcome: OperationRunner.RunOutcome
            do {
                outcome = .finished(.success(try await operation.run(runner.context)))
            } catch {
                outcome = .finished(.failure(error))
            }
            // The job ends here: its final message may wait for this worker's next jobs (``LoopWakeDeferral``).
            LoopWakeDeferral.deferringWakes { conclude(outcome) }
            handlerEnded()
        }
        attach(work)
        return work
    }

    /// Cancels the request (``RequestCanceller``): at once if it has started, or as it starts. Idempotent.
    func fire() {
        let (first, started) = state.withLock { state -> (Bool, Bool) in
            defer { state.fired = true }
            return (!state.fired, state.started)
        }
        guard first else { return }
        runner.channel.refuseFurtherOutput()
        guard started else { return }  // ``start()`` ends it, without running its handler.
        cancelWork()
        Task(executorPreference: RouterExecutors.control) { self.conclude(.cancelled) }
    }

    /// The harness's signal fired (``CancelAction``).
    func cancelFired() { fire() }

    /// The quiet start's end: held progress goes out, and the deadline is scheduled.
    func timerFired() {
        guard !isConcluded else { return }
        runner.channel.releaseHeldProgress()
        keep(scheduleDeadline())
    }

    private func scheduleDeadline() -> ScheduledAction {
        runner.clock.schedule(runner.context.deadline.endsAt) { [self] in
            conclude(.timedOut)
            cancelWork()
        }
    }

    /// Delivers the final event for `outcome` if the request has none yet, and stops its timers.
    fileprivate func conclude(_ outcome: OperationRunner.RunOutcome) {
        guard claim() else { return }
        runner.cancelSignal?.disarm()
        runner.channel.finish(runner.event(for: outcome))
        delivered()
        // Timed out or cancelled: the handler was only asked to stop, and its result will be dropped.
        // One that is still running after the grace period is reported until it returns.
        let timedOut: Bool
        switch outcome {
        case .finished: return
        case .timedOut: timedOut = true
        case .cancelled: timedOut = false
        }
        watch(
            OverrunWatch(
                type: runner.descriptor.messageType, timedOut: timedOut, grace: runner.overrunGrace,
                metrics: runner.metrics, logger: runner.context.logger))
    }

    // MARK: The handler's task

    private func cancelWork() {
        state.withLock { state -> Task<Void, Never>? in
            state.cancelled = true
            return state.task
        }?.cancel()
    }

    private func attach(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { state -> Bool in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    // MARK: The conclusion

    /// Keeps the request's next scheduled action, or cancels it at once if the request has ended.
    private func keep(_ action: ScheduledAction) {
        let concluded = state.withLock { state -> Bool in
            if !state.concluded { state.pending = action }
            return state.concluded
        }
        if concluded { action.cancel() }
    }

    private var isConcluded: Bool { state.withLock { $0.concluded } }

    /// True for the first caller only, which also cancels the scheduled action.
    private func claim() -> Bool {
        let outcome = state.withLock { state -> (claimed: Bool, pending: ScheduledAction?) in
            guard !state.concluded else { return (false, nil) }
            state.concluded = true
            defer { state.pending = nil }
            return (true, state.pending)
        }
        outcome.pending?.cancel()
        return outcome.claimed
    }

    /// The final event has been delivered.
    private func delivered() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isDelivered = true
            defer { state.deliveryWaiters = [] }
            return state.deliveryWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until the final event was delivered.
    func waitUntilDelivered() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if !state.isDelivered { state.deliveryWaiters.append(continuation) }
                return state.isDelivered
            }
            if done { continuation.resume() }
        }
    }

    /// Watches a handler asked to stop (ends the watch at once if it already returned).
    private func watch(_ watch: OverrunWatch) {
        let ended = state.withLock { state -> Bool in
            if !state.handlerEnded { state.watch = watch }
            return state.handlerEnded
        }
        if ended { watch.handlerEnded() }
    }

    /// The handler returned.
    private func handlerEnded() {
        let watch = state.withLock { state -> OverrunWatch? in
            state.handlerEnded = true
            defer { state.watch = nil }
            return state.watch
        }
        watch?.handlerEnded()
    }
}

/// Watches a handler whose request already ended: if it is still running after a grace period it is
/// counted in `router_handlers_overrunning` (until it returns) and logged once as still running.
final class OverrunWatch: Sendable {
    private enum State {
        case watching
        case reported
        case ended
    }

    private let state = Locked(State.watching)
    private let timer = Locked<Task<Void, Never>?>(nil)
    private let type: String
    private let metrics: OperationMetrics?

    init(type: String, timedOut: Bool, grace: Duration, metrics: OperationMetrics?, logger: Logger) {
        self.type = type
        self.metrics = metrics
        let task = Task(executorPreference: RouterExecutors.control) { [self] in
            do { try await Task.sleep(for: grace) } catch { return }
            let report = state.withLock { state -> Bool in
                guard case .watching = state else { return false }
                state = .reported
                return true
            }
            guard report else { return }
            metrics?.handlerOverrunStarted(type)
            logger.warning(
                timedOut ? "handler still running after timeout" : "handler still running after cancel",
                metadata: ["grace.ms": "\(grace.roundedMilliseconds)"])
        }
        timer.withLock { $0 = task }
    }

    /// The handler returned: its overrun (if reported) ends.
    func handlerEnded() {
        let wasReported = state.withLock { state -> Bool in
            defer { state = .ended }
            if case .reported = state { return true }
            return false
        }
        timer.withLock { $0 }?.cancel()
        if wasReported { metrics?.handlerOverrunEnded(type) }
    }
}

/// Starts requests outside a session: the code path ``RouterTesting``'s harness uses.
package struct LocalOperationRunner: Sendable {
    package let operation: AnyOperation
    let clock: OperationClock
    let services: ServiceRegistry
    let logger: Logger
    let progressInterval: Duration
    let progressQuietPeriod: Duration

    /// `progressQuietPeriod`: progress within it is held, as a session holds it (`progress.quietMs`); zero
    /// (the default, what the test harness uses) sends progress from the start.
    package init(
        operation: AnyOperation, clock: any Clock<Duration>, services: ServiceRegistry, logger: Logger,
        progressInterval: Duration, progressQuietPeriod: Duration = .zero
    ) {
        self.operation = operation
        self.clock = OperationClock(clock)
        self.services = services
        self.logger = logger
        self.progressInterval = progressInterval
        self.progressQuietPeriod = progressQuietPeriod
    }

    /// Decodes `data` (failures become a `bad_request` event) and runs the request to its final event.
    /// `timeout` may only shorten the operation's. Fire `cancel` to cancel it.
    package func run(
        data: JSONValue, timeout: Duration?, requestID: String, target: any OperationEventTarget, cancel: CancelHandle
    ) async {
        let prepared: PreparedOperation
        do {
            prepared = try operation.prepare(data: data)
        } catch {
            _ = target.deliver(RequestDecoding.failureEvent(for: error))
            return
        }
        await run(prepared, timeout: timeout, requestID: requestID, target: target, cancel: cancel)
    }

    /// Runs an already-typed request.
    package func run<H: OperationHandler>(
        _ handler: H, request: H.Request, timeout: Duration?, requestID: String, target: any OperationEventTarget,
        cancel: CancelHandle
    ) async {
        await run(AnyOperation.bind(handler, request), timeout: timeout, requestID: requestID, target: target, cancel: cancel)
    }

    func run(
        _ prepared: PreparedOperation, timeout: Duration?, requestID: String, target: any OperationEventTarget,
        cancel: CancelHandle
    ) async {
        let descriptor = operation.descriptor
        let effective = min(descriptor.timeout, timeout ?? descriptor.timeout)
        let startedAt = clock.now()
        let channel = RequestChannel(
            destination: .target(target), stages: descriptor.stages, progressInterval: progressInterval,
            quietUntil: progressQuietPeriod > .zero ? startedAt + progressQuietPeriod : nil, clock: clock,
            sessionLogger: logger, requestID: requestID, messageType: descriptor.messageType)
        let context = OperationContext(
            sessionID: "local", requestID: requestID, messageType: descriptor.messageType,
            deadline: OperationDeadline(timeout: effective, endsAt: startedAt + effective, clock: clock),
            sessionLogger: logger, services: services, channel: channel)
        let runner = OperationRunner(
            descriptor: descriptor, channel: channel, context: context, clock: clock, startedAt: startedAt,
            cancelSignal: cancel.signal)
        // As in a live session: the handler on the handler executor; the deadline a timer entry and a cancel
        // the signal's action, neither of which waits for any executor. The caller only waits here, on its own
        // executor: a hop to another first would cost two thread switches per request and change nothing.
        _ = await runner.run(prepared)
    }
}

/// Cancels a request started by ``LocalOperationRunner``.
package struct CancelHandle: Sendable {
    let signal = CancelSignal()
    package init() {}
    package func cancel() { signal.fire() }
}

/// Maps request-decoding failures to the `bad_request` (or client-facing) error.
enum RequestDecoding {
    static func failureEvent(for error: any Error) -> OperationEvent {
        let (code, message) = codeAndMessage(for: error)
        return .failure(code: code, message: message, outcome: .failed)
    }

    static func codeAndMessage(for error: any Error) -> (String, String) {
        switch error {
        case let failure as JSONDecodingFailure: (ErrorCode.badRequest, failure.description)
        case let clientFacing as any ClientFacingError: (clientFacing.code, clientFacing.message)
        default: (ErrorCode.badRequest, "data: invalid request")
        }
    }
}
