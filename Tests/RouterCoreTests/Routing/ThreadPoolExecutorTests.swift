import Dispatch
import Synchronization
import Testing

@testable import RouterCore

@Suite struct ThreadPoolExecutorTests {
    /// Workers stuck in jobs that never yield do not keep the next job waiting: the pool grows.
    @Test func aJobBehindStuckWorkersStillRuns() async {
        let pool = ThreadPoolExecutor(name: "test-pool", coreThreads: 1, maxThreads: 4)
        let release = DispatchSemaphore(value: 0)
        let stuck = DispatchSemaphore(value: 0)
        for _ in 0..<3 {
            Task(executorPreference: pool) {
                stuck.signal()
                release.wait()
            }
        }
        for _ in 0..<3 { await Self.wait(stuck) }
        // Counted from inside the job: the fourth thread ends once idle (2 s), which a loaded machine
        // can reach before the test reads the count after the job.
        let threadsWhileRunning = await Task(executorPreference: pool) { pool.threadCount }.value
        #expect(threadsWhileRunning == 4)
        for _ in 0..<3 { release.signal() }
    }

    /// A burst of short jobs all run, on no more threads than allowed.
    @Test func aBurstOfShortJobsAllRun() async {
        let pool = ThreadPoolExecutor(name: "test-pool", coreThreads: 2, maxThreads: 8)
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10_000 {
                group.addTask(executorPreference: pool) { counter.increment() }
            }
        }
        #expect(counter.value == 10_000)
        #expect(pool.threadCount <= 8)
    }

    final class Counter: Sendable {
        private let count = Atomic(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
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
