import Dispatch
import Synchronization
import Testing

@testable import RouterCore

@Suite struct DeadlineTimerTests {
    /// Records fired actions; `waitFor` blocks (off the cooperative pool's hot path) until a name fires.
    final class Recorder: Sendable {
        let fired = Mutex<[String]>([])
        let signal = DispatchSemaphore(value: 0)

        func action(_ name: String) -> @Sendable () -> Void {
            { [self] in
                fired.withLock { $0.append(name) }
                signal.signal()
            }
        }

        /// Waits for `count` actions to fire (false after 10 s).
        func waitFor(count: Int) -> Bool {
            for _ in 0..<count where signal.wait(timeout: .now() + 10) == .timedOut { return false }
            return true
        }
    }

    @Test func actionsRunInDeadlineOrderAndCancelledOnesNever() {
        let timer = DeadlineTimer(name: "test-deadlines")
        let recorder = Recorder()
        let now = ContinuousClock.now
        _ = timer.schedule(at: now + .milliseconds(30), recorder.action("third"))
        _ = timer.schedule(at: now + .milliseconds(10), recorder.action("first"))
        let cancelled = timer.schedule(at: now + .milliseconds(15), recorder.action("cancelled"))
        _ = timer.schedule(at: now + .milliseconds(20), recorder.action("second"))
        cancelled.cancel()
        cancelled.cancel()  // idempotent
        #expect(recorder.waitFor(count: 3))
        // "third" fired last, so a cancelled entry due before it would have fired by now.
        #expect(recorder.fired.withLock { $0 } == ["first", "second", "third"])
        #expect(timer.pendingCount == 0)
    }

    @Test func anEarlierDeadlineWakesTheSleepingThread() {
        let timer = DeadlineTimer(name: "test-deadlines")
        let recorder = Recorder()
        let late = timer.schedule(at: .now + .seconds(60), recorder.action("late"))
        // Let the thread go to sleep until the late deadline, then schedule an earlier one.
        let early = ContinuousClock.now + .milliseconds(5)
        _ = timer.schedule(at: early, recorder.action("early"))
        #expect(recorder.waitFor(count: 1), "the thread slept past an earlier deadline")
        #expect(recorder.fired.withLock { $0 } == ["early"])
        #expect(ContinuousClock.now >= early)
        late.cancel()
    }

    @Test func cancelledEntriesDoNotPileUpUntilTheirDeadlines() {
        let timer = DeadlineTimer(name: "test-deadlines")
        let far = ContinuousClock.now + .seconds(120)
        for round in 0..<20_000 {
            timer.schedule(at: far + .milliseconds(round), {}).cancel()
        }
        #expect(timer.pendingCount == 0)
        #expect(timer.heapCount <= 1_024 + 1)
    }

    @Test func aPastDeadlineFiresAtOnce() {
        let timer = DeadlineTimer(name: "test-deadlines")
        let recorder = Recorder()
        _ = timer.schedule(at: .now - .seconds(1), recorder.action("past"))
        #expect(recorder.waitFor(count: 1))
    }

    /// Every request schedules its quiet start's end: grouped actions due within one window share one heap
    /// entry, and each runs at or after its own deadline, never before.
    @Test func groupedActionsShareOneEntryAndNeverRunEarly() {
        let timer = DeadlineTimer(name: "test-deadlines")
        let ranEarly = Mutex(0)
        let signal = DispatchSemaphore(value: 0)
        let start = ContinuousClock.now + .milliseconds(50)
        for index in 0..<50 {
            let deadline = start + .microseconds(index * 20)
            _ = timer.scheduleGrouped(at: deadline) {
                if ContinuousClock.now < deadline { ranEarly.withLock { $0 += 1 } }
                signal.signal()
            }
        }
        #expect(timer.heapCount == 1, "50 actions within 1 ms took \(timer.heapCount) heap entries")
        #expect(timer.pendingCount == 50)
        for _ in 0..<50 { #expect(signal.wait(timeout: .now() + 10) == .success) }
        #expect(ranEarly.withLock { $0 } == 0)
        #expect(timer.pendingCount == 0)
    }

    /// A request that ends cancels its quiet start's end: the cancelled action never runs, and what it
    /// captured is released by the cancel itself (not a quiet period later, on the timer's thread), while
    /// the rest of its group still runs.
    @Test func cancellingAGroupedActionReleasesItAtOnceAndSparesItsGroup() {
        final class Captured: Sendable {
            let released: DispatchSemaphore
            init(_ released: DispatchSemaphore) { self.released = released }
            deinit { released.signal() }
        }
        let timer = DeadlineTimer(name: "test-deadlines")
        let recorder = Recorder()
        let released = DispatchSemaphore(value: 0)
        let deadline = ContinuousClock.now + .milliseconds(100)
        let first = timer.scheduleGrouped(at: deadline, recorder.action("first"))
        let captured = Captured(released)
        let cancelled = timer.scheduleGrouped(at: deadline) { [captured] in
            recorder.action("cancelled")()
            _ = captured
        }
        _ = timer.scheduleGrouped(at: deadline, recorder.action("last"))
        _ = consume captured
        #expect(timer.heapCount == 1)
        #expect(timer.pendingCount == 3)
        cancelled.cancel()
        // Released by the cancel: the semaphore is already signalled, no waiting for the group.
        #expect(released.wait(timeout: .now()) == .success, "the cancelled action was kept until its group ran")
        #expect(timer.pendingCount == 2)
        cancelled.cancel()
        #expect(timer.pendingCount == 2, "a second cancel counted again")
        #expect(recorder.waitFor(count: 2))
        #expect(recorder.fired.withLock { $0 } == ["first", "last"])
        first.cancel()  // after it ran: nothing to do
        #expect(timer.pendingCount == 0)
    }

    /// Compacting the heap after many cancels keeps the entries of groups.
    @Test func compactionKeepsGroupedActions() {
        let timer = DeadlineTimer(name: "test-deadlines")
        let recorder = Recorder()
        _ = timer.scheduleGrouped(at: .now + .milliseconds(200), recorder.action("grouped"))
        let far = ContinuousClock.now + .seconds(120)
        for round in 0..<5_000 {
            timer.schedule(at: far + .milliseconds(round), {}).cancel()
        }
        #expect(timer.heapCount <= 1_024 + 2)
        #expect(recorder.waitFor(count: 1), "the grouped action was dropped by a compaction")
    }
}
