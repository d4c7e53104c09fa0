import Testing

@testable import SearchPlugin

@Suite struct YieldPacingTests {
    @Test func yieldsOnceAnIntervalHasPassedThenCountsFromThere() {
        let start = ContinuousClock.now
        let interval = YieldPacing.interval
        var pacing = YieldPacing(start: start)
        // Offsets from `start`, in halves of an interval, and whether a yield is due there.
        let decisions = [0, 1, 2, 3, 4, 20, 20].map { halves in pacing.shouldYield(at: start + interval * halves / 2) }
        // Due a whole interval after the start, then a whole interval after each yield (not after each check).
        #expect(decisions == [false, false, true, false, true, true, false])
    }
}
