/// Cancels one request when fired: idempotent, synchronous, from any thread. A session's request is its own
/// canceller (its run: no object more per request); a ``CancelSignal`` is one made before its run.
protocol RequestCanceller: AnyObject, Sendable {
    func fire()
}

/// What a ``CancelSignal`` runs when it fires: an object (a request's run), so that registering it costs
/// no allocation.
protocol CancelAction: AnyObject, Sendable {
    /// Runs synchronously on the firing thread (which may hold a request channel's lock).
    func cancelFired()
}

/// A one-shot signal made before the request it cancels (``CancelHandle``'s, which a test may fire before
/// the request starts); the request's run registers on it.
final class CancelSignal: RequestCanceller {
    private struct State {
        var fired = false
        /// What runs when the signal fires: one per signal (a request has one run).
        var action: (any CancelAction)?
    }

    private let state = InlineLocked(State())

    init() {}

    /// Fires the signal; idempotent.
    func fire() {
        let action = state.withLock { state -> (any CancelAction)? in
            guard !state.fired else { return nil }
            state.fired = true
            defer { state.action = nil }
            return state.action
        }
        // Outside the lock, and on the firing thread: the action does not wait for a free executor thread.
        action?.cancelFired()
    }

    /// Forgets the action without running it: the request ended another way. The action (the run) holds
    /// this signal, so until it is dropped the two keep each other alive.
    func disarm() {
        let action = state.withLock { state -> (any CancelAction)? in
            defer { state.action = nil }
            return state.action
        }
        _ = action  // Released here, outside the lock: releasing it may run deinitializers.
    }

    /// Runs `action` synchronously when the signal fires (at once if it already has). One action per signal.
    func onFire(_ action: any CancelAction) {
        let firedAlready = state.withLock { state -> Bool in
            if state.fired { return true }
            assert(state.action == nil, "a cancel signal takes one action")
            state.action = action
            return false
        }
        if firedAlready { action.cancelFired() }
    }
}
