
/// A one-shot signal a request's runner waits on: fired by a client `cancel` or a closed connection.
final class CancelSignal: Sendable {
    private struct State {
        var fired = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// What runs when the signal fires (several registrations are chained into one closure: a request
        /// has one, and an array would cost an allocation per request).
        var action: (@Sendable () -> Void)?
    }

    private let state = Locked(State())

    /// Fires the signal; idempotent.
    func fire() {
        let (waiter, action) = state.withLock { state -> (CheckedContinuation<Bool, Never>?, (@Sendable () -> Void)?) in
            guard !state.fired else { return (nil, nil) }
            state.fired = true
            defer {
                state.waiter = nil
                state.action = nil
            }
            return (state.waiter, state.action)
        }
        // Outside the lock, and on the firing thread: the actions do not wait for a free executor thread.
        action?()
        waiter?.resume(returning: true)
    }

    /// Forgets the actions without running them: the request ended another way. Its actions capture the
    /// runner, which holds this signal, so until they are dropped the two keep each other alive.
    func disarm() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            defer { state.action = nil }
            return state.action
        }
        _ = action  // Released here, outside the lock: releasing them may run deinitializers.
    }

    /// Runs `action` synchronously when the signal fires (at once if it already has).
    func onFire(_ action: @escaping @Sendable () -> Void) {
        let firedAlready = state.withLock { state -> Bool in
            if state.fired { return true }
            if let earlier = state.action {
                state.action = {
                    earlier()
                    action()
                }
            } else {
                state.action = action
            }
            return false
        }
        if firedAlready { action() }
    }

    /// Returns true when fired, false if the waiting task was cancelled first. One waiter at a time.
    func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool? = state.withLock { state in
                    if state.fired { return true }
                    if Task.isCancelled { return false }
                    state.waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }
}
