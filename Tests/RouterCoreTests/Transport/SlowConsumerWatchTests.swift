import Testing

@testable import RouterCore

/// The slow-consumer watch runs from above the high-water mark until the backlog is back at the low one.
@Suite struct SlowConsumerWatchTests {
    /// A peer that stops reading can leave the backlog between the marks, where producers stay suspended and
    /// nothing more is written: the watch must keep running there, or nothing closes the connection.
    @Test func aBacklogStuckBetweenTheMarksKeepsTheWatchRunning() {
        var watch = SlowConsumerWatch(highWater: 256, lowWater: 64)
        #expect(watch.observe(backlog: 300, closesFarAboveHighWater: true) == .startTimer)
        #expect(watch.observe(backlog: 100, closesFarAboveHighWater: true) == .none)
        #expect(watch.isWatching)
        #expect(watch.observe(backlog: 200, closesFarAboveHighWater: true) == .none)
        #expect(watch.observe(backlog: 300, closesFarAboveHighWater: true) == .none, "one timer per watch")
        #expect(watch.isWatching)
    }

    /// Producers suspended by messages still on their way to the loop: the connection sees the backlog only
    /// between the marks, and the watch starts there.
    @Test func producersWaitingBetweenTheMarksStartTheWatch() {
        var watch = SlowConsumerWatch(highWater: 256, lowWater: 64)
        #expect(watch.observe(backlog: 200, producersWaiting: false, closesFarAboveHighWater: true) == .none)
        #expect(watch.observe(backlog: 200, producersWaiting: true, closesFarAboveHighWater: true) == .startTimer)
        #expect(watch.observe(backlog: 64, producersWaiting: false, closesFarAboveHighWater: true) == .cancelTimer)
        #expect(watch.observe(backlog: 60, producersWaiting: true, closesFarAboveHighWater: true) == .none)
    }

    @Test func aPeerThatCatchesUpEndsTheWatch() {
        var watch = SlowConsumerWatch(highWater: 256, lowWater: 64)
        #expect(watch.observe(backlog: 10, closesFarAboveHighWater: true) == .none)
        #expect(watch.observe(backlog: 257, closesFarAboveHighWater: true) == .startTimer)
        #expect(watch.observe(backlog: 64, closesFarAboveHighWater: true) == .cancelTimer)
        #expect(!watch.isWatching)
        #expect(watch.observe(backlog: 0, closesFarAboveHighWater: true) == .none)
        #expect(watch.observe(backlog: 300, closesFarAboveHighWater: true) == .startTimer, "a new watch")
    }

    @Test func farAboveTheMarkARouterConnectionClosesAtOnce() {
        var watch = SlowConsumerWatch(highWater: 256, lowWater: 64)
        #expect(watch.observe(backlog: 1025, closesFarAboveHighWater: true) == .closeNow(backlog: 1025))
        #expect(watch.observe(backlog: 1025, closesFarAboveHighWater: false) == .startTimer)
        #expect(watch.observe(backlog: 1024, closesFarAboveHighWater: true) == .none)
    }
}
