
/// The server-wide count of in-flight requests, shared by every session of a ``RouterService``.
final class InFlightLimiter: Sendable {
    private struct State {
        var count = 0
        var refusing = false
        var idleWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// Why ``tryAcquire()`` refused.
    enum Refusal { case full, shuttingDown }

    let limit: Int
    private let state = Locked(State())

    init(limit: Int) { self.limit = limit }

    /// Takes a slot if one is free; nil when taken, else why not.
    func tryAcquire() -> Refusal? {
        state.withLock { state in
            if state.refusing { return .shuttingDown }
            guard state.count < limit else { return .full }
            state.count += 1
            return nil
        }
    }

    /// Every later ``tryAcquire()`` is refused (the server is shutting down).
    func refuseNew() { state.withLock { $0.refusing = true } }

    func release() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.idleWaiters = [:] }
            return Array(state.idleWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var current: Int { state.withLock { $0.count } }

    /// Returns once no request is in flight.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if addIdleWaiter(continuation) == nil { continuation.resume() }
        }
    }

    /// Returns once no request is in flight, or as soon as the calling task is cancelled (graceful
    /// shutdown races this against the grace period).
    func waitUntilIdleOrCancelled() async {
        let waiter = Locked<UInt64?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                guard let id = addIdleWaiter(continuation) else { return continuation.resume() }
                // Cancelled before the waiter was registered: the handler below found nothing to resume.
                let cancelled = waiter.withLock { registered -> Bool in
                    registered = id
                    return Task.isCancelled
                }
                if cancelled { resumeIdleWaiter(id) }
            }
        } onCancel: {
            if let id = waiter.withLock({ $0 }) { resumeIdleWaiter(id) }
        }
    }

    /// Registers `continuation` to be resumed at idle; nil (not registered) when already idle.
    private func addIdleWaiter(_ continuation: CheckedContinuation<Void, Never>) -> UInt64? {
        state.withLock { state -> UInt64? in
            guard state.count > 0 else { return nil }
            state.nextWaiter += 1
            state.idleWaiters[state.nextWaiter] = continuation
            return state.nextWaiter
        }
    }

    /// Resumes one waiter early (its task was cancelled), unless idle already resumed it.
    private func resumeIdleWaiter(_ id: UInt64) {
        state.withLock { $0.idleWaiters.removeValue(forKey: id) }?.resume()
    }
}
