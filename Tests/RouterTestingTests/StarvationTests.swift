import Dispatch
import Foundation
import RouterCore
import RouterTesting
import Testing

/// The SessionTests flake under CPU load: a connection's session was started by `RouterService.run()`'s loop
/// over new connections, and that loop ran on the cooperative pool of whoever called `run()`: while the pool
/// was busy (other suites' CPU-bound tests in parallel, a spinning process taking a core) a new connection was
/// not served at all, and `sink.waitFor` expired after 10 s and more. A detached session's expiry was a task
/// sleeping on the same pool, so it did not expire either.
///
/// These tests block every thread of the cooperative pool and drive the router from a thread of their own.
/// Both failed before the loop moved to the control executor and the expiry became a timer entry.
@Suite(.serialized)
struct StarvationTests {
    /// Blocks every thread of the cooperative pool until released.
    final class PoolBlocker: Sendable {
        private let release = DispatchSemaphore(value: 0)
        private let blocked = DispatchSemaphore(value: 0)
        let count = max(2, ProcessInfo.processInfo.activeProcessorCount)

        /// Returns once `count` pool threads are blocked (called from a thread outside the pool).
        func block() {
            for _ in 0..<count {
                Task.detached { [self] in
                    blocked.signal()
                    release.wait()
                }
            }
            for _ in 0..<count { blocked.wait() }
        }

        func unblock() {
            for _ in 0..<count { release.signal() }
        }
    }

    /// Waits on this (non-pool) thread until `condition` holds or 5 s pass.
    static func blockingWait(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        let changed = NSCondition()
        while Date() < deadline {
            if condition() { return true }
            changed.lock()
            _ = changed.wait(until: Date().addingTimeInterval(0.005))
            changed.unlock()
        }
        return condition()
    }

    /// Runs `body` on a thread of its own while every cooperative pool thread is blocked.
    static func whilePoolIsBlocked<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        let blocker = PoolBlocker()
        return await withCheckedContinuation { continuation in
            Thread {
                blocker.block()
                let result = body()
                blocker.unblock()
                continuation.resume(returning: result)
            }.start()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aNewConnectionIsServedWhileTheCooperativePoolIsBusy() async throws {
        let router = try RouterBuilder().register(TestSearchHandler()).build()
        let service = RouterService(router: router, logger: .disabled)
        let runner = Task.detached { await service.run() }  // started on the cooperative pool while it is free
        let first = TestConnection(to: service)
        first.send(#"{"type":"ping","id":"p1"}"#)
        #expect(await first.sink.waitFor { $0.contains { $0["type"] == "pong" } }, "served while the pool is free")

        let served = await Self.whilePoolIsBlocked {
            let second = TestConnection(to: service)
            second.send(#"{"type":"memory_search","id":"s1","data":{"query":"tea","limit":1}}"#)
            return Self.blockingWait { second.messages.contains { $0["type"] == "search_complete" } }
        }
        #expect(served, "a new connection's session and its request must not wait for the cooperative pool")
        service.stop()
        await runner.value
    }

    @Test(.timeLimit(.minutes(1)))
    func aDetachedSessionExpiresWhileTheCooperativePoolIsBusy() async throws {
        let router = try RouterBuilder().register(TestSearchHandler()).build()
        let metrics = OperationMetrics()
        let settings = RouterSettings(resume: ResumeSettings(window: .milliseconds(50)))
        let service = RouterService(router: router, settings: settings, metrics: metrics, logger: .disabled)
        let runner = Task.detached { await service.run() }
        let connection = TestConnection(to: service)
        connection.send(#"{"type":"ping","id":"p1"}"#)
        #expect(await connection.sink.waitFor { $0.contains { $0["type"] == "pong" } })

        nonisolated(unsafe) let dropped = connection  // used by the blocking thread only, while this task waits
        let expired = await Self.whilePoolIsBlocked {
            dropped.close(code: .abnormalClosure)
            guard Self.blockingWait({ metrics.snapshot().sessions.detached == 1 }) else { return false }
            return Self.blockingWait { metrics.snapshot().sessions.expired == 1 }
        }
        #expect(metrics.snapshot().sessions.detached == 1, "the dropped connection's session detached")
        #expect(expired, "a detached session's expiry must not wait for the cooperative pool")
        #expect(metrics.snapshot().sessions.detachedCurrent == 0)
        service.stop()
        await runner.value
    }
}
