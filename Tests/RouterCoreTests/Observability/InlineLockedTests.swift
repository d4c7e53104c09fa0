import Dispatch
import Testing

@testable import RouterCore

@Suite struct InlineLockedTests {
    /// An object guarding its state inline, as a request's run and channel do.
    final class Tally: Sendable {
        struct State {
            var count = 0
            var lastWriter = -1
        }

        let state = InlineLocked(State())

        func add(from writer: Int) {
            state.withLock { state in
                state.count += 1
                state.lastWriter = writer
            }
        }

        var count: Int { state.withLock { $0.count } }
    }

    /// Eight threads at once: every increment counts. Under `swift test --sanitize=thread` (CI's TSan run)
    /// this is also the check that TSan sees the lock's ordering: without the annotations it reports each
    /// guarded access as a race, and the run fails.
    @Test func threadsAtOnceLoseNoUpdateAndTSanSeesTheLock() {
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            for _ in 0..<10_000 { tally.add(from: writer) }
        }
        #expect(tally.count == 80_000)
        #expect((0..<8).contains(tally.state.withLock { $0.lastWriter }))
    }

    @Test func returnsWhatTheBodyReturns() {
        let tally = Tally()
        tally.add(from: 3)
        let snapshot = tally.state.withLock { state -> (Int, Int) in (state.count, state.lastWriter) }
        #expect(snapshot == (1, 3))
    }
}
