import Synchronization

/// The per-request path from a handler to its ``OperationEventTarget``: progress throttling,
/// chunk numbering, and the rule that nothing follows the final event.
///
/// Lock order: the channel's lock is taken before the target's (a session's) lock, never after.
final class RequestChannel: Sendable {
    /// Where the request's events go: its session (held in the channel: no object of its own per request),
    /// or another target (the test harness's).
    enum Destination: Sendable {
        /// Run `runToken` of the request in `session`'s in-flight map.
        case session(RouterSession, runToken: UInt64, descriptor: OperationDescriptor)
        case target(any OperationEventTarget)
    }

    private struct State {
        var throttle: ProgressThrottle
        var nextChunk = 0
        var finished = false
        var finalEvent: OperationEvent?
    }

    let destination: Destination
    let clock: OperationClock
    /// The session's logger; ``logger`` adds the request's metadata when something is logged.
    private let sessionLogger: Logger
    private let requestID: String
    private let messageType: String
    private let state: InlineLocked<State>

    /// `quietUntil`: the end of the quiet start, during which progress is held (see ``ProgressThrottle``) until
    /// ``releaseHeldProgress()`` (the run's timer, at that time) or the first chunk; nil sends from the start.
    init(
        destination: Destination, stages: [ProgressStage], progressInterval: Duration, quietUntil: Duration? = nil,
        clock: OperationClock, sessionLogger: Logger, requestID: String, messageType: String
    ) {
        self.destination = destination
        self.clock = clock
        self.sessionLogger = sessionLogger
        self.requestID = requestID
        self.messageType = messageType
        self.state = InlineLocked(
            State(throttle: ProgressThrottle(stages: stages, minInterval: progressInterval, quietUntil: quietUntil)))
    }

    /// Logger with `op.id` and `op.type` metadata, made when something is logged.
    var logger: Logger { sessionLogger.forRequest(id: requestID, type: messageType) }

    /// When the quiet start ends (nil if there is none, or it is over).
    var quietUntil: Duration? { state.withLock { $0.throttle.quietUntil } }

    func progress(stage: String, fraction: Double, message: String?) {
        state.withLock { state in
            guard !state.finished else { return }
            // During the quiet start a report is only held (until the run's timer ends it): no clock read.
            let now = state.throttle.quietUntil == nil ? clock.now() : nil
            switch state.throttle.report(stage: stage, fraction: fraction, now: now, message: message) {
            case .send(let index, let progress):
                _ = deliver(
                    .progress(
                        stage: stage, stageIndex: index, stageCount: state.throttle.stages.count, progress: progress,
                        message: message))
            case .coalesced, .held:
                break
            case .unknownStage:
                logger.debug("progress for undeclared stage ignored", metadata: ["stage": stage])
                undeclaredStage(stage, declared: state.throttle.stages.map(\.name))
            case .staleStage(let reached):
                logger.debug(
                    "progress for an earlier stage ignored",
                    metadata: ["stage": stage, "reached": state.throttle.stages[reached].name])
            }
        }
    }

    /// Ends the quiet start: sends the progress held during it, unless the request has ended.
    func releaseHeldProgress() {
        let now = clock.now()
        state.withLock { state in
            guard !state.finished else { return }
            releaseLocked(&state, now: now)
        }
    }

    private func releaseLocked(_ state: inout State, now: Duration) {
        guard let report = state.throttle.releaseHeld(now: now) else { return }
        _ = deliver(
            .progress(
                stage: state.throttle.stages[report.stageIndex].name, stageIndex: report.stageIndex,
                stageCount: state.throttle.stages.count, progress: report.progress, message: report.message))
    }

    /// Set when the request is cancelled: from then on `emit` throws at once. Apart from `state`, because
    /// the cancel may fire inside a delivery, under `state`'s lock.
    private let outputRefused = Atomic(false)

    /// Makes every later `emit` throw `CancellationError` (the request was cancelled).
    func refuseFurtherOutput() {
        outputRefused.store(true, ordering: .releasing)
    }

    func emit(_ fields: ResultFields) async throws {
        if outputRefused.load(ordering: .acquiring) { throw CancellationError() }
        try Task.checkCancellation()
        guard await waitUntilWritable() else { throw CancellationError() }
        try Task.checkCancellation()
        if outputRefused.load(ordering: .acquiring) { throw CancellationError() }
        let now = clock.now()
        let delivered = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            // A stream's first chunk ends the quiet start: its progress goes before it.
            releaseLocked(&state, now: now)
            guard deliver(.chunk(index: state.nextChunk, fields: fields)) else { return false }
            state.nextChunk += 1
            return true
        }
        guard delivered else { throw CancellationError() }
    }

    /// Delivers the final event unless one was already delivered. Returns whether this one was.
    @discardableResult
    func finish(_ event: OperationEvent) -> Bool {
        state.withLock { state in
            guard !state.finished else { return false }
            state.finished = true
            state.finalEvent = event
            return deliver(event)
        }
    }

    private func deliver(_ event: OperationEvent) -> Bool {
        switch destination {
        case .session(let session, let runToken, let descriptor):
            session.deliver(event, requestID: requestID, runToken: runToken, descriptor: descriptor)
        case .target(let target):
            target.deliver(event)
        }
    }

    private func waitUntilWritable() async -> Bool {
        switch destination {
        case .session(let session, _, _): await session.waitUntilWritable()
        case .target(let target): await target.waitUntilWritable()
        }
    }

    /// A live session ignores an undeclared stage (the request goes on); the test harness fails the test.
    private func undeclaredStage(_ stage: String, declared: [String]) {
        if case .target(let target) = destination { target.undeclaredStage(stage, declared: declared) }
    }

    /// The final event, once one was delivered.
    var finalEvent: OperationEvent? { state.withLock { $0.finalEvent } }

    /// The furthest declared stage reported so far, as `"score" (2 of 3)`, or nil.
    var reachedStageDescription: String? {
        state.withLock { state in
            guard let index = state.throttle.reachedStage else { return nil }
            return "\"\(state.throttle.stages[index].name)\" (\(index + 1) of \(state.throttle.stages.count))"
        }
    }
}
