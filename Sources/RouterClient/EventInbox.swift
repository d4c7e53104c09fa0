import RouterCore

/// A thread-safe FIFO of events with one async consumer and a timeout on each wait.
final class EventInbox<Event: Sendable>: Sendable {
    private struct State {
        var events: [Event] = []
        var head = 0
        var finished = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Event?, any Error>)?
        var nextID: UInt64 = 0
    }

    /// No event arrived in time.
    struct Timeout: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String { "no event within \(timeout)" }
    }

    private let state = Locked(State())

    func yield(_ event: Event) {
        let waiter = state.withLock { state -> CheckedContinuation<Event?, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.events.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Event?, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    func next(timeout: Duration) async throws -> Event? {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            let waiter = state.withLock { state -> CheckedContinuation<Event?, any Error>? in
                guard state.waiter?.id == id else { return nil }
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            waiter?.resume(throwing: Timeout(timeout: timeout))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let immediate = state.withLock { state -> Result<Event?, any Error>? in
                if state.head < state.events.count {
                    let event = state.events[state.head]
                    state.head += 1
                    if state.head > 64, state.head * 2 > state.events.count {
                        state.events.removeFirst(state.head)
                        state.head = 0
                    }
                    return .success(event)
                }
                if state.finished { return .success(nil) }
                state.waiter = (id, continuation)
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }
}
