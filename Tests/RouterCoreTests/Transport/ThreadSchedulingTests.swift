import Testing

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

    @Test func theDeadlineTimerAndOtherThreadsKeepTheirPolicy() async {
        let fired = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            _ = DeadlineTimer.shared.schedule(at: .now) { continuation.resume(returning: ThreadScheduling.policyOfThisThread) }
        }
        #expect(fired != ThreadScheduling.batchPolicy)
        #expect(ThreadScheduling.policyOfThisThread != ThreadScheduling.batchPolicy, "the caller's own thread is left alone")
    }
    #endif
}
