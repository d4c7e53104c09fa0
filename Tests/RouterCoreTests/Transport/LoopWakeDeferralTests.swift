import Dispatch
import Synchronization
import Testing

@testable import RouterCore

/// A pool worker holds back loop wake-ups only while it ends a request, and releases them before it
/// sleeps, before a job once they are old, or from the timer while it is stuck.
@Suite struct LoopWakeDeferralTests {
    /// Outside ``LoopWakeDeferral/deferringWakes(_:)`` (progress, chunks), nothing is held.
    @Test func aWakeOutsideTheEndOfARequestIsNotHeld() async {
        let pool = ThreadPoolExecutor(name: "test-pool", coreThreads: 1, maxThreads: 1, wakeHoldBound: .seconds(60), saturationThreads: 1)
        let target = CountingWake()
        let held = await Task(executorPreference: pool) { () -> Bool? in
            LoopWakeDeferral.current?.hold(target)
        }.value
        #expect(held == false)
        #expect(target.wakes == 0)
    }

    /// A thread that is not a pool worker has no deferral: its wake-ups go at once.
    @Test func aThreadOutsideAPoolHoldsNothing() async {
        let held = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: LoopWakeDeferral.deferringWakes { LoopWakeDeferral.current != nil })
            }
        }
        #expect(held == false)
    }

    /// Held while the worker has the next job queued, released once the queue is empty, before it sleeps.
    @Test func aHeldWakeWaitsForTheQueuedJobsThenGoesBeforeTheWorkerSleeps() async {
        let pool = ThreadPoolExecutor(name: "test-pool", coreThreads: 1, maxThreads: 1, wakeHoldBound: .seconds(60), saturationThreads: 1)
        let target = CountingWake()
        let (held, wakesSeenBySecond) = await Self.holdThenRun(on: pool, target) { target.wakes }
        #expect(held)
        #expect(wakesSeenBySecond == 0, "released before the worker ran out of jobs")
        #expect(await target.waitForWake(), "never released after the queue emptied")
        #expect(target.wakes == 1)
    }

    /// Once held for its bound, a wake-up goes before the worker starts another job.
    @Test func aHeldWakeGoesBeforeTheNextJobOnceItIsOld() async {
        let pool = ThreadPoolExecutor(
            name: "test-pool", coreThreads: 1, maxThreads: 1, wakeHoldBound: .zero, wakeHoldTimer: DeadlineTimer(name: "idle"),
            saturationThreads: 1)
        let target = CountingWake()
        let (held, wakesSeenBySecond) = await Self.holdThenRun(on: pool, target) { target.wakes }
        #expect(held)
        #expect(wakesSeenBySecond == 1)
    }

    /// A worker stuck in a long job after holding a wake-up does not keep it: the timer releases it.
    @Test func theTimerReleasesAWakeHeldByAStuckWorker() async {
        let pool = ThreadPoolExecutor(name: "test-pool", coreThreads: 1, maxThreads: 1, wakeHoldBound: .milliseconds(10), saturationThreads: 1)
        let target = CountingWake()
        // The long job waits for the wake-up (or gives up after 10 s), so only the timer can release it.
        let (held, woken) = await Self.holdThenRun(on: pool, target) { target.waitForWakeBlocking(seconds: 10) }
        #expect(held)
        #expect(woken, "the held wake-up waited for the stuck job")
    }

    /// With fewer of the pool's jobs running than CPUs, a loop woken at once may run on a free CPU: nothing
    /// is held.
    @Test func aPoolNotOccupyingEveryCPUHoldsNothing() async {
        let pool = ThreadPoolExecutor(
            name: "test-pool", coreThreads: 2, maxThreads: 2, wakeHoldBound: .seconds(60), saturationThreads: 2)
        let target = CountingWake()
        let held = await Task(executorPreference: pool) { () -> Bool in
            LoopWakeDeferral.deferringWakes { LoopWakeDeferral.current?.hold(target) ?? true }
        }.value
        #expect(held == false)
    }

    /// Two holds of one target before a release wake it once.
    @Test func oneTargetHeldTwiceIsWokenOnce() async {
        let pool = ThreadPoolExecutor(name: "test-pool", coreThreads: 1, maxThreads: 1, wakeHoldBound: .seconds(60), saturationThreads: 1)
        let target = CountingWake()
        let held = await Task(executorPreference: pool) { () -> Int in
            LoopWakeDeferral.deferringWakes {
                let deferral = LoopWakeDeferral.current
                let first = deferral?.hold(target) == true ? 1 : 0
                let second = deferral?.hold(target) == true ? 1 : 0
                return first + second
            }
        }.value
        #expect(held == 2)
        #expect(await target.waitForWake())
        #expect(target.wakes == 1)
    }

    final class CountingWake: DeferrableWake {
        private let count = Atomic(0)
        private let woken = DispatchSemaphore(value: 0)

        func wakeUp() {
            count.add(1, ordering: .relaxed)
            woken.signal()
        }

        var wakes: Int { count.load(ordering: .relaxed) }

        /// Whether a wake-up comes within 10 s (off the cooperative pool).
        func waitForWake() async -> Bool {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                DispatchQueue.global().async {
                    continuation.resume(returning: self.waitForWakeBlocking(seconds: 10))
                }
            }
        }

        func waitForWakeBlocking(seconds: Int) -> Bool {
            guard woken.wait(timeout: .now() + .seconds(seconds)) == .success else { return false }
            woken.signal()  // left for another waiter
            return true
        }
    }

    /// Runs a job on `pool` (one thread) that holds `target`'s wake-up as a request's end does, with `second`
    /// queued behind it; returns whether the first held it and what `second` returned.
    private static func holdThenRun<Value: Sendable>(
        on pool: ThreadPoolExecutor, _ target: CountingWake, _ second: @escaping @Sendable () -> Value
    ) async -> (held: Bool, second: Value) {
        let firstRunning = DispatchSemaphore(value: 0)
        let secondQueued = DispatchSemaphore(value: 0)
        let first = Task(executorPreference: pool) { () -> Bool in
            firstRunning.signal()
            secondQueued.wait()
            return LoopWakeDeferral.deferringWakes { LoopWakeDeferral.current?.hold(target) ?? false }
        }
        await wait(firstRunning)
        // Queued behind the first job on the pool's one thread.
        let queued = Task(executorPreference: pool) { second() }
        secondQueued.signal()
        return (await first.value, await queued.value)
    }

    /// Waits on a semaphore off the cooperative pool.
    private static func wait(_ semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                semaphore.wait()
                continuation.resume()
            }
        }
    }
}
