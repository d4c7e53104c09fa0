import Foundation
import Testing

@testable import RouterCore

@Suite struct BatchingTaskExecutorTests {
    @Test func jobsEnqueuedWhileHeldDoNotWakeTheThreadUntilRelease() async throws {
        let executor = BatchingTaskExecutor(name: "test-sessions")
        defer { executor.shutdown() }
        // Let the thread run once and fall asleep (it marks itself sleeping under the lock, then waits).
        await Task(executorPreference: executor) {}.value
        while !executor.sleepingWithQueuedJobs.sleeping { await Task.yield() }
        let ran = Locked(0)
        executor.hold()
        let tasks = (0..<10).map { _ in Task(executorPreference: executor) { ran.withLock { $0 += 1 } } }
        // Waking the thread would have cleared `sleeping` (under the same lock as the enqueue): it is still
        // asleep with the 10 jobs queued, so none can have run.
        let (sleeping, queued) = executor.sleepingWithQueuedJobs
        #expect(sleeping && queued == 10, "held jobs must not wake the sleeping thread")
        #expect(ran.withLock { $0 } == 0)
        executor.release()
        for task in tasks { await task.value }
        #expect(ran.withLock { $0 } == 10)
    }

    @Test func withoutHoldAJobRunsAtOnce() async {
        let executor = BatchingTaskExecutor(name: "test-sessions")
        defer { executor.shutdown() }
        let value = await Task(executorPreference: executor) { 6 * 7 }.value
        #expect(value == 42)
    }

    static func currentThreadName() -> String? { Thread.current.name }

    @Test func afterShutdownJobsStillRun() async throws {
        let executor = BatchingTaskExecutor(name: "test-sessions-stopped")
        executor.shutdown()
        // `shutdown()` marks the executor stopped under its lock before it returns: from then on a job is
        // forwarded to the global executor, whether or not the thread has ended yet.
        let (value, thread) = await Task(executorPreference: executor) { ("ran", Self.currentThreadName()) }.value
        #expect(value == "ran")
        #expect(thread != "test-sessions-stopped", "run on the global executor, not on the stopped thread")
        #expect(executor.sleepingWithQueuedJobs.queued == 0, "nothing was queued for the stopped thread")
    }
}
