import Testing

@testable import RouterCore

@Suite struct BatchingTaskExecutorTests {
    @Test func jobsEnqueuedWhileHeldDoNotWakeTheThreadUntilRelease() async throws {
        let executor = BatchingTaskExecutor(name: "test-sessions")
        defer { executor.shutdown() }
        // Let the thread run once and fall asleep.
        await Task(executorPreference: executor) {}.value
        try await Task.sleep(for: .milliseconds(50))
        let ran = Locked(0)
        executor.hold()
        let tasks = (0..<10).map { _ in Task(executorPreference: executor) { ran.withLock { $0 += 1 } } }
        try await Task.sleep(for: .milliseconds(50))
        #expect(ran.withLock { $0 } == 0, "held jobs must not wake the sleeping thread")
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

    @Test func afterShutdownJobsStillRun() async throws {
        let executor = BatchingTaskExecutor(name: "test-sessions")
        executor.shutdown()
        try await Task.sleep(for: .milliseconds(20))
        let value = await Task(executorPreference: executor) { "ran" }.value
        #expect(value == "ran")
    }
}
