
/// The per-request path from a handler to its ``OperationEventTarget``: progress throttling,
/// chunk numbering, and the rule that nothing follows the final event.
///
/// Lock order: the channel's lock is taken before the target's (a session's) lock, never after.
final class RequestChannel: Sendable {
    private struct State {
        var throttle: ProgressThrottle
        var nextChunk = 0
        var finished = false
    }

    let target: any OperationEventTarget
    let clock: OperationClock
    let logger: Logger
    private let state: Locked<State>

    init(target: any OperationEventTarget, stages: [ProgressStage], progressInterval: Duration, clock: OperationClock, logger: Logger) {
        self.target = target
        self.clock = clock
        self.logger = logger
        self.state = Locked(State(throttle: ProgressThrottle(stages: stages, minInterval: progressInterval)))
    }

    func progress(stage: String, fraction: Double, message: String?) {
        let now = clock.now()
        state.withLock { state in
            guard !state.finished else { return }
            switch state.throttle.report(stage: stage, fraction: fraction, now: now) {
            case .send(let index, let progress):
                _ = target.deliver(
                    .progress(
                        stage: stage, stageIndex: index, stageCount: state.throttle.stages.count, progress: progress,
                        message: message))
            case .coalesced:
                break
            case .unknownStage:
                logger.debug("progress for undeclared stage ignored", metadata: ["stage": stage])
                target.undeclaredStage(stage, declared: state.throttle.stages.map(\.name))
            case .staleStage(let reached):
                logger.debug(
                    "progress for an earlier stage ignored",
                    metadata: ["stage": stage, "reached": state.throttle.stages[reached].name])
            }
        }
    }

    func emit(_ fields: [String: JSONValue]) async throws {
        try Task.checkCancellation()
        guard await target.waitUntilWritable() else { throw CancellationError() }
        try Task.checkCancellation()
        let delivered = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            guard target.deliver(.chunk(index: state.nextChunk, fields: fields)) else { return false }
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
            return target.deliver(event)
        }
    }

    /// The furthest declared stage reported so far, as `"score" (2 of 3)`, or nil.
    var reachedStageDescription: String? {
        state.withLock { state in
            guard let index = state.throttle.reachedStage else { return nil }
            return "\"\(state.throttle.stages[index].name)\" (\(index + 1) of \(state.throttle.stages.count))"
        }
    }
}
