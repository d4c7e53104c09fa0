/// Decides which progress reports of one request reach the client (DESIGN §4).
///
/// - A report naming a stage later than the last sent one is always sent (stage changes).
/// - The first report that reaches overall progress 1.0 is always sent.
/// - Otherwise a report is sent only if `minInterval` has passed since the last sent one
///   (≤ 10 per second at the default 100 ms); the others are dropped, not queued. The last
///   report before completion may therefore be dropped: `<prefix>_complete` supersedes it.
/// - Overall progress never decreases: a lower value is raised to the last sent one.
/// - A stage that is not declared, or earlier than the furthest reached, is ignored.
///
/// Time is passed in (`now`, an offset on the router's clock), so tests are deterministic.
struct ProgressThrottle: Sendable {
    enum Decision: Equatable {
        case send(stageIndex: Int, progress: Double)
        case coalesced
        case unknownStage
        case staleStage(reached: Int)
    }

    let stages: [ProgressStage]
    let minInterval: Duration
    private(set) var lastSentAt: Duration?
    private(set) var lastSentStage = -1
    private(set) var lastSentProgress = 0.0
    /// The furthest stage reported (sent or not), for the timeout message.
    private(set) var reachedStage: Int?

    init(stages: [ProgressStage], minInterval: Duration) {
        self.stages = stages
        self.minInterval = minInterval
    }

    mutating func report(stage name: String, fraction: Double, now: Duration) -> Decision {
        guard let index = stages.firstIndex(where: { $0.name == name }) else { return .unknownStage }
        if let reached = reachedStage, index < reached { return .staleStage(reached: reached) }
        reachedStage = index
        let overall = max(lastSentProgress, ProgressStage.overall(stages, stageIndex: index, fraction: fraction))
        let send: Bool
        if index > lastSentStage {
            send = true
        } else if overall >= 1 && lastSentProgress < 1 {
            send = true
        } else if let last = lastSentAt {
            send = now - last >= minInterval
        } else {
            send = true
        }
        guard send else { return .coalesced }
        lastSentAt = now
        lastSentStage = index
        lastSentProgress = overall
        return .send(stageIndex: index, progress: overall)
    }
}
