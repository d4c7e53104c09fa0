import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import RouterCore

/// The router's threads run under `SCHED_BATCH` (no preemption on wake-up); the deadline timer's thread
/// and threads that are not the router's keep their policy.
@Suite struct ThreadSchedulingTests {
    #if os(Linux)
    @Test func anEventLoopThreadRunsUnderTheBatchPolicy() async throws {
        let loop = try EventLoop(index: 0)
        loop.start()
        let policy = await EventLoopConfinementTests.onLoop(loop) { ThreadScheduling.policyOfThisThread }
        loop.shutdown()
        await loop.waitUntilFinished()
        #expect(policy == ThreadScheduling.batchPolicy)
    }

    @Test func aSessionExecutorThreadRunsUnderTheBatchPolicy() async {
        let executor = BatchingTaskExecutor(name: "test-sessions")
        defer { executor.shutdown() }
        let policy = await Task(executorPreference: executor) { ThreadScheduling.policyOfThisThread }.value
        #expect(policy == ThreadScheduling.batchPolicy)
    }

    @Test func handlerAndControlThreadsRunUnderTheBatchPolicy() async {
        let handler = await Task(executorPreference: RouterExecutors.handlers) { ThreadScheduling.policyOfThisThread }.value
        let control = await Task(executorPreference: RouterExecutors.control) { ThreadScheduling.policyOfThisThread }.value
        #expect(handler == ThreadScheduling.batchPolicy)
        #expect(control == ThreadScheduling.batchPolicy)
    }

    /// Started from a handler thread (batch), the timer's thread still takes the default policy.
    @Test func theDeadlineTimerThreadRunsUnderTheDefaultPolicy() async {
        let timer = DeadlineTimer(name: "test-timer")
        let fired = await Task(executorPreference: RouterExecutors.handlers) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
                _ = timer.schedule(at: .now) { continuation.resume(returning: ThreadScheduling.policyOfThisThread) }
            }
        }.value
        #expect(fired == SCHED_OTHER)
    }
    #endif
}
