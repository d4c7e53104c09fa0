import Foundation
import Testing

@testable import RouterCore

/// Event loops run under `SCHED_BATCH` (no preemption on wake-up) when asked to, and under the default
/// policy otherwise; the router's other threads under the default policy, even when a loop's work starts them.
@Suite struct ThreadSchedulingTests {
    #if os(Linux)
    @Test func anEventLoopRunsUnderTheBatchPolicyOnlyWhenAsked() async throws {
        var policies: [Int32] = []
        for batch in [true, false] {
            let loop = try EventLoop(index: 0, batchScheduling: batch)
            loop.start()
            policies.append(await EventLoopConfinementTests.onLoop(loop) { ThreadScheduling.policyOfThisThread })
            loop.shutdown()
            await loop.waitUntilFinished()
        }
        #expect(policies == [ThreadScheduling.batchPolicy, ThreadScheduling.defaultPolicy])
    }

    /// `server.batchScheduling` reaches the transport; it is off unless set.
    @Test func theServerSettingTurnsItOn() throws {
        func transport(_ json: String) throws -> TransportConfiguration {
            try RouterConfiguration.load(json: Data(json.utf8), knownPlugins: []).get().transportConfiguration()
        }
        #expect(try transport(#"{"server":{"batchScheduling":true}}"#).batchScheduling)
        #expect(try !transport("{}").batchScheduling)
    }

    /// Started from a loop's thread (batch), a session executor, a pool and the deadline timer each run
    /// their work under the default policy.
    @Test func threadsStartedByALoopRunUnderTheDefaultPolicy() async throws {
        let loop = try EventLoop(index: 0, batchScheduling: true)
        loop.start()
        let (executor, pool, timer) = await EventLoopConfinementTests.onLoop(loop) {
            (BatchingTaskExecutor(name: "test-sessions"), ThreadPoolExecutor(name: "test-pool", coreThreads: 1, maxThreads: 1),
             DeadlineTimer(name: "test-timer"))
        }
        defer { executor.shutdown() }
        let session = await Task(executorPreference: executor) { ThreadScheduling.policyOfThisThread }.value
        // The pool starts its thread for its first job, enqueued here from the loop's thread.
        let pooled = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            loop.execute { Task(executorPreference: pool) { continuation.resume(returning: ThreadScheduling.policyOfThisThread) } }
        }
        let fired = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            loop.execute {
                _ = timer.schedule(at: .now) { continuation.resume(returning: ThreadScheduling.policyOfThisThread) }
            }
        }
        loop.shutdown()
        await loop.waitUntilFinished()
        #expect(session == ThreadScheduling.defaultPolicy)
        #expect(pooled == ThreadScheduling.defaultPolicy)
        #expect(fired == ThreadScheduling.defaultPolicy)
    }
    #endif
}
