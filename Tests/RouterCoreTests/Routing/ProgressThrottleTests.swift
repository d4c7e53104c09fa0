import Testing

@testable import RouterCore

@Suite struct ProgressThrottleTests {
    let stages = [ProgressStage("load", weight: 1), ProgressStage("score", weight: 3)]

    @Test func overallProgressUsesWeights() {
        #expect(ProgressStage.overall(stages, stageIndex: 0, fraction: 1) == 0.25)
        #expect(ProgressStage.overall(stages, stageIndex: 1, fraction: 0.5) == 0.625)
        #expect(ProgressStage.overall(stages, stageIndex: 1, fraction: 7) == 1)
        let zero = [ProgressStage("a", weight: 0), ProgressStage("b", weight: 0)]
        #expect(ProgressStage.overall(zero, stageIndex: 1, fraction: 0) == 0.5)
    }

    @Test func coalescesWithinTheIntervalButAlwaysSendsStageChanges() {
        var throttle = ProgressThrottle(stages: stages, minInterval: .milliseconds(100))
        #expect(throttle.report(stage: "load", fraction: 0, now: .zero) == .send(stageIndex: 0, progress: 0))
        #expect(throttle.report(stage: "load", fraction: 0.5, now: .milliseconds(50)) == .coalesced)
        #expect(throttle.report(stage: "load", fraction: 0.8, now: .milliseconds(100)) == .send(stageIndex: 0, progress: 0.2))
        #expect(throttle.report(stage: "score", fraction: 0, now: .milliseconds(101)) == .send(stageIndex: 1, progress: 0.25))
        #expect(throttle.report(stage: "score", fraction: 0.5, now: .milliseconds(150)) == .coalesced)
        #expect(throttle.report(stage: "score", fraction: 1, now: .milliseconds(160)) == .send(stageIndex: 1, progress: 1))
        #expect(throttle.report(stage: "score", fraction: 1, now: .milliseconds(170)) == .coalesced)
    }

    @Test func progressNeverDecreasesAndStagesNeverGoBack() {
        var throttle = ProgressThrottle(stages: stages, minInterval: .milliseconds(100))
        _ = throttle.report(stage: "score", fraction: 0.5, now: .zero)
        #expect(throttle.report(stage: "score", fraction: 0.1, now: .seconds(1)) == .send(stageIndex: 1, progress: 0.625))
        #expect(throttle.report(stage: "load", fraction: 1, now: .seconds(2)) == .staleStage(reached: 1))
        #expect(throttle.report(stage: "nope", fraction: 1, now: .seconds(3)) == .unknownStage)
        #expect(throttle.reachedStage == 1)
    }

    @Test func theQuietStartHoldsTheLatestReportUntilItEnds() {
        var throttle = ProgressThrottle(stages: stages, minInterval: .milliseconds(100), quietUntil: .milliseconds(100))
        #expect(throttle.report(stage: "load", fraction: 0, now: .zero) == .held)
        #expect(throttle.report(stage: "score", fraction: 0.5, now: .milliseconds(40), message: "half") == .held)
        #expect(throttle.held == .init(stageIndex: 1, progress: 0.625, message: "half"))
        // The quiet start ends: the held report goes out once, counted as sent.
        #expect(throttle.releaseHeld(now: .milliseconds(100)) == .init(stageIndex: 1, progress: 0.625, message: "half"))
        #expect(throttle.releaseHeld(now: .milliseconds(101)) == nil)
        #expect(throttle.report(stage: "score", fraction: 0.6, now: .milliseconds(150)) == .coalesced)
        #expect(throttle.report(stage: "score", fraction: 0.75, now: .milliseconds(200)) == .send(stageIndex: 1, progress: 0.8125))
    }

    /// A request's channel reads no clock during its quiet start: a report without the time is held (past
    /// `quietUntil` too, when the request's timer is late) until the quiet start is released.
    @Test func aReportWithoutTheTimeIsHeldUntilTheQuietStartIsReleased() {
        var throttle = ProgressThrottle(stages: stages, minInterval: .milliseconds(100), quietUntil: .milliseconds(100))
        #expect(throttle.report(stage: "load", fraction: 0, now: nil) == .held)
        #expect(throttle.report(stage: "score", fraction: 0.5, now: nil, message: "half") == .held)
        #expect(throttle.report(stage: "nope", fraction: 1, now: nil) == .unknownStage)
        #expect(throttle.report(stage: "load", fraction: 1, now: nil) == .staleStage(reached: 1))
        #expect(throttle.quietUntil == .milliseconds(100))
        #expect(throttle.releaseHeld(now: .milliseconds(104)) == .init(stageIndex: 1, progress: 0.625, message: "half"))
        #expect(throttle.report(stage: "score", fraction: 0.6, now: .milliseconds(150)) == .coalesced)
        #expect(throttle.report(stage: "score", fraction: 0.75, now: .milliseconds(210)) == .send(stageIndex: 1, progress: 0.8125))
    }

    @Test func aReportAfterTheQuietStartSupersedesTheHeldOne() {
        var throttle = ProgressThrottle(stages: stages, minInterval: .milliseconds(100), quietUntil: .milliseconds(100))
        #expect(throttle.report(stage: "load", fraction: 0.5, now: .milliseconds(10)) == .held)
        #expect(throttle.report(stage: "score", fraction: 0, now: .milliseconds(120)) == .send(stageIndex: 1, progress: 0.25))
        #expect(throttle.releaseHeld(now: .milliseconds(130)) == nil)
        #expect(throttle.quietUntil == nil)
    }
}
