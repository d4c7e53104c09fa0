import Dispatch
import Foundation
import RouterCore
import RouterTesting
import Testing

/// The SessionTests flake under CPU load: a connection's session is started by `RouterService.run()`'s loop
/// over new connections. That loop runs on the cooperative pool of whoever called `run()`, so while the pool
/// is busy (other suites' CPU-bound tests in parallel, a spinning process taking a core) a new connection is
/// not served at all, and `sink.waitFor` expires after 10 s and more.
///
/// This test reproduces it (it fails: the second connection is not served within 5 s). Running the loop on an
/// executor of its own (`withTaskExecutorPreference`) makes it pass, but then ResumeTests'
/// `aResumeAfterTheWindowIsExpiredAndItsOperationsWereCancelled` and `pastMaxDetachedSessionsTheOldestExpires`
/// fail in about half of the runs (a detached session removed without being recorded as expired: a race in
/// the detach/expiry bookkeeping that the new scheduling exposes). Disabled until that race is fixed.
@Suite(.serialized, .disabled("reproduces the open starvation bug; see the comment above"))
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

    /// Waits on this (non-pool) thread until `predicate` holds for the connection's messages or 5 s pass.
    static func blockingWait(_ connection: TestConnection, _ predicate: ([JSONValue]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        let changed = NSCondition()
        while Date() < deadline {
            if predicate(connection.messages) { return true }
            changed.lock()
            _ = changed.wait(until: Date().addingTimeInterval(0.005))
            changed.unlock()
        }
        return predicate(connection.messages)
    }

    @Test(.timeLimit(.minutes(1)))
    func aNewConnectionIsServedWhileTheCooperativePoolIsBusy() async throws {
        let router = try RouterBuilder().register(TestSearchHandler()).build()
        let service = RouterService(router: router, logger: .disabled)
        let runner = Task.detached { await service.run() }  // on the cooperative pool, as `withRunningService` does
        let first = TestConnection(to: service)
        first.send(#"{"type":"ping","id":"p1"}"#)
        #expect(await first.sink.waitFor { $0.contains { $0["type"] == "pong" } }, "served while the pool is free")

        // Everything below runs on a thread of its own, never on the (blocked) cooperative pool.
        let blocker = PoolBlocker()
        let served: Bool = await withCheckedContinuation { continuation in
            Thread {
                blocker.block()
                let second = TestConnection(to: service)
                second.send(#"{"type":"memory_search","id":"s1","data":{"query":"tea","limit":1}}"#)
                let answered = Self.blockingWait(second) { $0.contains { $0["type"] == "search_complete" } }
                blocker.unblock()
                continuation.resume(returning: answered)
            }.start()
        }
        #expect(served, "a new connection's session and its request must not wait for the cooperative pool")
        service.stop()
        await runner.value
    }
}
