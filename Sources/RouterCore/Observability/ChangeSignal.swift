/// Lets a test wait for a condition on some state without polling: whoever changes the state calls
/// ``changed()``, and ``wait(timeout:until:)`` checks its condition again on each change, and once more at
/// its time limit. (`changed()` with nobody waiting costs one uncontended lock.)
package final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Locked(State())

    package init() {}

    /// Wakes every waiter so it checks its condition again.
    package func changed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation += 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waiters asleep until the next change.
    package var sleepingWaiters: Int { state.withLock { $0.waiters.count } }

    /// Waits until `condition` holds or `timeout` passes; returns whether it held.
    package func wait(timeout: Duration, until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            // The generation is read before the condition: a change after this read wakes the wait below.
            let generation = state.withLock { $0.generation }
            if condition() { return true }
            guard ContinuousClock.now < deadline else { return false }
            await nextChange(after: generation, until: deadline)
        }
    }

    /// Returns once ``changed()`` was called after `generation`, or at `deadline`.
    private func nextChange(after generation: UInt64, until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        // The time limit only ends the wait; it never decides what the test sees.
        let limit = Task {
            try? await Task.sleep(until: deadline)
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let asleep = state.withLock { state -> Bool in
                guard state.generation == generation, ContinuousClock.now < deadline else { return false }
                state.waiters[id] = continuation
                return true
            }
            if !asleep { continuation.resume() }
        }
        limit.cancel()
    }
}
