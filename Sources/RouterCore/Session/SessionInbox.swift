/// What a connection delivers to its session: its messages, then its closing.
enum SessionInput: Sendable {
    case message(WebSocketMessage)
    case closed(CloseCode)
}

/// A connection's inbound messages on their way from the loop thread to the session's task.
///
/// The loop only appends (``push(_:limit:)`` never blocks) and wakes the task once per batch (``wake()``,
/// from ``WebSocketReceiver/receivedBatchEnd()``); the task takes everything queued at once (``nextBatch()``),
/// so a burst of small messages costs one wake-up, not one per message. This replaces an
/// `AsyncStream`, whose unspecialized generic storage and per-element resumption cost more than the
/// router's own work on small messages. What is queued is also the connection's unprocessed backlog,
/// bounded by the `limit` given to `push`.
final class SessionInbox: Sendable {
    private struct State {
        var queued: [SessionInput] = []
        var waiter: UnsafeContinuation<Void, Never>?
        /// No more input will come (the connection closed).
        var finished = false
        /// The consuming task was cancelled: `nextBatch` returns nil from now on.
        var cancelled = false

        /// The waiting consumer, removed (it is resumed once, outside the lock).
        mutating func takeWaiter() -> UnsafeContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state = Locked(State())

    /// Queues a message unless `limit` messages already wait; returns whether it was queued.
    /// The consumer is not woken: call ``wake()`` after a run of pushes.
    func push(_ message: WebSocketMessage, limit: Int) -> Bool {
        state.withLock { state -> Bool in
            guard !state.finished, state.queued.count < limit else { return false }
            state.queued.append(.message(message))
            return true
        }
    }

    /// Wakes the consumer if it waits and something is queued.
    func wake() {
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.queued.isEmpty ? nil : state.takeWaiter()
        }
        waiter?.resume()
    }

    /// Queues the connection's closing and ends the input.
    func finish(code: CloseCode) {
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard !state.finished else { return nil }
            state.finished = true
            state.queued.append(.closed(code))
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// Messages not yet taken by the session's task.
    var backlog: Int { state.withLock { $0.queued.count } }

    /// Everything queued, in order, waiting for at least one input; nil once the input has ended and
    /// was taken, or the calling task is cancelled. One consumer only.
    func nextBatch() async -> [SessionInput]? {
        while true {
            if let batch = take() { return batch.isEmpty ? nil : batch }
            await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    let waits = state.withLock { state -> Bool in
                        guard state.queued.isEmpty, !state.finished, !state.cancelled else { return false }
                        state.waiter = continuation
                        return true
                    }
                    if !waits { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
                    state.cancelled = true
                    return state.takeWaiter()
                }
                waiter?.resume()
            }
        }
    }

    /// The queued inputs; an empty array when the input is over (finished and drained, or cancelled);
    /// nil when the caller should wait.
    private func take() -> [SessionInput]? {
        state.withLock { state -> [SessionInput]? in
            if state.cancelled { return [] }
            if !state.queued.isEmpty {
                defer { state.queued = [] }
                return state.queued
            }
            return state.finished ? [] : nil
        }
    }
}
