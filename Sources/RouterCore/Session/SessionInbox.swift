extension WebSocketMessage {
    /// The payload's size in bytes.
    var byteCount: Int {
        switch self {
        case .text(let bytes), .binary(let bytes): bytes.count
        }
    }
}

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
/// router's own work on small messages.
///
/// What is queued, and the batch the task is working on, is the connection's unprocessed backlog. It is
/// bounded in messages and in bytes (decompressed) without dropping anything: when a ``push(_:)`` reaches
/// either bound it tells the transport to stop reading the socket (TCP backpressure then holds the peer),
/// and once the task has worked the backlog down to half of both bounds the inbox calls `resumeReading`.
final class SessionInbox: Sendable {
    private struct State {
        var queued: [SessionInput] = []
        /// Bytes of the messages in `queued`.
        var queuedBytes = 0
        /// Bytes of the batch the consumer took last: in flight until it asks for the next one.
        var takenBytes = 0
        /// The transport was told to stop reading and waits for `resumeReading`.
        var readingPaused = false
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
    private let maxMessages: Int
    private let maxBytes: Int
    private let resumeReading: @Sendable () -> Void

    /// - Parameters:
    ///   - maxMessages: messages queued (and in the batch being worked on) at which reading pauses.
    ///   - maxBytes: bytes (after decompression) at which reading pauses.
    ///   - resumeReading: called, from the consumer's task, when a paused connection may read again.
    init(maxMessages: Int, maxBytes: Int, resumeReading: @escaping @Sendable () -> Void) {
        self.maxMessages = max(1, maxMessages)
        self.maxBytes = max(1, maxBytes)
        self.resumeReading = resumeReading
    }

    /// Queues a message. Returns false when the backlog has reached a bound: the transport must stop
    /// reading until `resumeReading` is called. The consumer is not woken: call ``wake()`` after a run of pushes.
    func push(_ message: WebSocketMessage) -> Bool {
        let size = message.byteCount
        return state.withLock { state -> Bool in
            guard !state.finished else { return true }
            state.queued.append(.message(message))
            state.queuedBytes += size
            if state.queued.count >= maxMessages || state.queuedBytes + state.takenBytes >= maxBytes {
                state.readingPaused = true
                return false
            }
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

    /// Bytes queued or in the batch being worked on.
    var backlogBytes: Int { state.withLock { $0.queuedBytes + $0.takenBytes } }

    /// Whether the consumer is suspended in ``nextBatch()``, waiting for input (for tests).
    var hasWaitingConsumer: Bool { state.withLock { $0.waiter != nil } }

    /// Everything queued, in order, waiting for at least one input; nil once the input has ended and
    /// was taken, or the calling task is cancelled. One consumer only.
    func nextBatch() async -> [SessionInput]? {
        var batch: [SessionInput] = []
        return await nextBatch(into: &batch) ? batch : nil
    }

    /// ``nextBatch()`` into `batch`, which it empties first: the consumer's batch and the queue trade
    /// buffers, so in steady state queueing allocates no array. Returns false once the input has ended
    /// and was taken, or the calling task is cancelled.
    func nextBatch(into batch: inout [SessionInput]) async -> Bool {
        batch.removeAll(keepingCapacity: true)
        while true {
            if let more = take(into: &batch) { return more }
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

    /// Moves the queued inputs into `batch` (empty) and returns true; false when the input is over
    /// (finished and drained, or cancelled); nil when the caller should wait.
    /// The batch taken before is done with: its bytes no longer count, and a paused connection resumes
    /// reading once the backlog is under half of both bounds.
    private func take(into batch: inout [SessionInput]) -> Bool? {
        let (more, resume) = state.withLock { state -> (Bool?, Bool) in
            state.takenBytes = 0
            var resume = false
            if state.readingPaused, state.queued.count <= maxMessages / 2, state.queuedBytes <= maxBytes / 2 {
                state.readingPaused = false
                resume = true
            }
            if state.cancelled { return (false, resume) }
            if !state.queued.isEmpty {
                swap(&state.queued, &batch)
                state.takenBytes = state.queuedBytes
                state.queuedBytes = 0
                return (true, resume)
            }
            return (state.finished ? false : nil, resume)
        }
        if resume { resumeReading() }
        return more
    }
}
