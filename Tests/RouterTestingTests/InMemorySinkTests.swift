import RouterCore
import RouterTesting
import Testing

@Suite struct InMemorySinkTests {
    /// `waitFor` wakes on each send (no polling), and gives up at its limit when nothing comes.
    @Test func waitForWakesOnASendAndGivesUpAtItsLimit() async {
        let sink = InMemorySink()
        let waiting = Task { await sink.waitFor(timeout: .seconds(20)) { $0.count == 2 } }
        // Send only once the wait is asleep, so the send must wake it.
        while sink.sleepingWaiters == 0 { await Task.yield() }
        sink.sendText(Array(#"{"n":1}"#.utf8))
        sink.sendText(Array(#"{"n":2}"#.utf8))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await waiting.value, "the wait did not see the two sends")
        // Woken by the sends, not by its 20 s limit.
        #expect(clock.now - start < .seconds(15))
        #expect(await sink.waitFor(timeout: .milliseconds(50)) { $0.count == 3 } == false)
        // Closing wakes a waiter too.
        let closing = Task { await sink.waitFor(timeout: .seconds(20)) { _ in sink.closeCode != nil } }
        while sink.sleepingWaiters == 0 { await Task.yield() }
        sink.close(code: .normal, reason: "done")
        #expect(await closing.value)
    }
}
