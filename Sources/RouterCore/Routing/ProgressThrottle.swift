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
/// - Quiet start: before `quietUntil` (one progress interval after the request started) nothing is
///   sent; the latest report is held. A request that ends within it sends only its final message;
///   otherwise ``releaseHeld(now:)`` sends the held report when the quiet period ends (or before the
///   first chunk), and reports go on as above.
///
/// Time is passed in (`now`, an offset on the router's clock), so tests are deterministic.
struct ProgressThrottle: Sendable {
    enum Decision: Equatable {
        case send(stageIndex: Int, progress: Double)
        case coalesced
        /// Kept back during the quiet start (the latest held report replaces the one before).
        case held
        case unknownStage
        case staleStage(reached: Int)
    }

    /// A report kept back during the quiet start.
    struct HeldReport: Equatable {
        let stageIndex: Int
        let progress: Double
        let message: String?
    }

    let stages: [ProgressStage]
    let minInterval: Duration
    /// Reports before this time are held; nil once the quiet start is over (or without one).
    private(set) var quietUntil: Duration?
    private(set) var held: HeldReport?
    private(set) var lastSentAt: Duration?
    private(set) var lastSentStage = -1
    private(set) var lastSentProgress = 0.0
    /// The furthest stage reported (sent or not), for the timeout message.
    private(set) var reachedStage: Int?

    init(stages: [ProgressStage], minInterval: Duration, quietUntil: Duration? = nil) {
        self.stages = stages
        self.minInterval = minInterval
        self.quietUntil = quietUntil
    }

    /// Ends the quiet start; returns the held report, now counted as sent, if there was one.
    mutating func releaseHeld(now: Duration) -> HeldReport? {
        quietUntil = nil
        guard let report = held else { return nil }
        held = nil
        lastSentAt = now
        lastSentStage = report.stageIndex
        lastSentProgress = report.progress
        return report
    }

    /// `now`: nil when the caller, seeing ``quietUntil`` set, did not read its clock (the quiet start then
    /// lasts until ``releaseHeld(now:)``: a request's timer releases it).
    mutating func report(stage name: String, fraction: Double, now: Duration?, message: String? = nil) -> Decision {
        guard let index = stages.firstIndex(where: { $0.name == name }) else { return .unknownStage }
        if let reached = reachedStage, index < reached { return .staleStage(reached: reached) }
        reachedStage = index
        if let quietUntil {
            guard let now, now >= quietUntil else {
                let overall = max(held?.progress ?? 0, ProgressStage.overall(stages, stageIndex: index, fraction: fraction))
                held = HeldReport(stageIndex: index, progress: overall, message: message)
                return .held
            }
            // The quiet start is over: this report supersedes a held one.
            self.quietUntil = nil
            if let held { lastSentProgress = held.progress }
            held = nil
        }
        // Outside the quiet start a caller passes its time; without it, the last send's stands in.
        assert(now != nil, "a report after the quiet start needs the time")
        let now = now ?? lastSentAt ?? .zero
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
