/// The thread-safe face of one WebSocket connection: any thread or task sends and closes through it.
///
/// Calls enqueue onto the owning loop and wake it; the loop drains the inbox, encodes and writes.
/// It also carries the connection's backpressure: ``waitUntilWritable()`` suspends while the bytes
/// queued (here and in the loop's write queue) are above the high-water mark, until they fall
/// under the low-water mark.
package final class ConnectionHandle: OutboundMessageSink, LoopTask, @unchecked Sendable {
    enum Outbound {
        /// A message sent as it is (RSV1 clear).
        case plain(WebSocketOpcode, [UInt8])
        /// A message already compressed (permessage-deflate) by its producer: sent with RSV1.
        case compressed(WebSocketOpcode, [UInt8])
        case close(CloseCode, String)
    }

    private struct State {
        var inbox: [Outbound] = []
        var inboxBytes = 0
        /// Bytes in the loop's write queue, as last published by the loop.
        var writeQueueBytes = 0
        var drainScheduled = false
        var closed = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]

        var backlog: Int { inboxBytes + writeQueueBytes }
    }

    /// A process-unique id, for logs and metrics.
    package let id: UInt64
    package let usesPerMessageDeflate: Bool
    let loop: EventLoop
    private let highWater: Int
    private let lowWater: Int
    private let state = Locked(State())
    /// Only touched on the loop thread.
    nonisolated(unsafe) weak var connection: Connection?
    /// The inbox's other buffer, emptied with its capacity kept (see ``drain()``). Only touched on the loop thread.
    private nonisolated(unsafe) var spareInbox: [Outbound] = []
    /// The connection's permessage-deflate compressor, used by producers (never by the loop) under this lock,
    /// which also orders their messages: each is compressed and queued before the next one starts, so the
    /// compressor's context follows wire order. nil without permessage-deflate.
    private let deflater: Locked<OutboundDeflater>?
    private let deflateThreshold: Int
    /// ``TransportConfiguration/onProducerSuspended`` (tests only).
    private let onProducerSuspended: (@Sendable () -> Void)?

    /// The compressor, only ever used under ``deflater``'s lock (its inflating half stays with the loop).
    struct OutboundDeflater: @unchecked Sendable {
        let codec: any MessageDeflating
    }

    init(
        id: UInt64, loop: EventLoop, connection: Connection, usesPerMessageDeflate: Bool, highWater: Int, lowWater: Int,
        deflater: (any MessageDeflating)? = nil, deflateThreshold: Int = .max, onProducerSuspended: (@Sendable () -> Void)? = nil
    ) {
        self.id = id
        self.loop = loop
        self.connection = connection
        self.usesPerMessageDeflate = usesPerMessageDeflate
        self.highWater = highWater
        self.lowWater = lowWater
        self.deflater = deflater.map { Locked(OutboundDeflater(codec: $0)) }
        self.deflateThreshold = deflateThreshold
        self.onProducerSuspended = onProducerSuspended
    }

    /// With permessage-deflate, a message at or above the threshold is compressed here, on the producer's
    /// thread: the event loop only writes it.
    package func sendText(_ utf8: [UInt8]) {
        send(.text, utf8)
    }

    /// Queues a binary message (compressed like a text message).
    package func sendBinary(_ bytes: [UInt8]) {
        send(.binary, bytes)
    }

    /// The loop never compresses: a message sent from the loop thread itself (a service's greeting, queued
    /// while the connection opens) goes uncompressed, with RSV1 clear, which RFC 7692 §6 allows for any message.
    private func send(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        guard let deflater else {
            enqueue(.plain(opcode, payload), bytes: payload.count)
            return
        }
        let compress = payload.count >= deflateThreshold && !loop.inEventLoop
        deflater.withLock { deflater in
            if compress {
                let compressed = payload.withUnsafeBytes { deflater.codec.deflate($0) }
                enqueue(.compressed(opcode, compressed), bytes: compressed.count)
            } else {
                enqueue(.plain(opcode, payload), bytes: payload.count)
            }
        }
    }

    package func close(code: CloseCode, reason: String) {
        enqueue(.close(code, reason), bytes: 0)
    }

    package func resumeReading() {
        loop.execute { [self] in connection?.resumeInbound() }
    }

    /// The loop's ``BatchingTaskExecutor``: the router's session for this connection runs there.
    package var preferredExecutor: (any TaskExecutor)? { loop.sessionExecutor }

    /// Bytes queued and not yet written to the socket.
    package var backlogBytes: Int { state.withLock { $0.backlog } }

    /// Bytes sent through the handle and not yet handed to the loop's write queue.
    var inboxBytes: Int { state.withLock { $0.inboxBytes } }

    package func waitUntilWritable() async -> Bool {
        let waiterID = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.closed { return false }
                    if state.backlog <= highWater { return true }
                    // A cancel that landed before this registration found no waiter to resume: the task's
                    // flag is set before its handler runs, so checking it here under the lock closes the gap.
                    if Task.isCancelled { return false }
                    state.waiters[waiterID] = continuation
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                } else {
                    onProducerSuspended?()
                }
            }
        } onCancel: {
            // A cancelled producer stops waiting; it checks cancellation itself.
            let waiter = state.withLock { $0.waiters.removeValue(forKey: waiterID) }
            waiter?.resume(returning: false)
        }
    }

    private func enqueue(_ message: Outbound, bytes: Int) {
        let schedule = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.inbox.append(message)
            state.inboxBytes += bytes
            guard !state.drainScheduled else { return false }
            state.drainScheduled = true
            return true
        }
        if schedule {
            loop.execute(self)  // runOnLoop() drains
        }
    }

    /// On the loop: hands queued messages to the connection and flushes.
    func runOnLoop() { drain() }

    private func drain() {
        loop.assertInEventLoop()
        // The inbox and the spare trade places: in steady state queueing a message allocates no array.
        var messages: [Outbound] = []
        swap(&messages, &spareInbox)
        state.withLock { state in
            swap(&messages, &state.inbox)
            state.inboxBytes = 0
            state.drainScheduled = false
        }
        defer {
            messages.removeAll(keepingCapacity: true)
            swap(&messages, &spareInbox)
        }
        guard let connection else { return }
        for message in messages {
            switch message {
            case .plain(let opcode, let bytes): connection.sendUncompressed(opcode: opcode, payload: bytes)
            case .compressed(let opcode, let bytes): connection.sendCompressed(opcode: opcode, payload: bytes)
            case .close(let code, let reason): connection.initiateClose(code: code, reason: reason)
            }
        }
        connection.flush()
    }

    /// On the loop, after a flush: records the write queue's size and wakes producers under the low-water mark.
    /// Returns whether producers still wait (the backlog is above the low-water mark).
    @discardableResult
    func publish(writeQueueBytes: Int) -> Bool {
        loop.assertInEventLoop()
        let (resumed, waiting) = state.withLock { state -> ([CheckedContinuation<Bool, Never>], Bool) in
            state.writeQueueBytes = writeQueueBytes
            guard !state.waiters.isEmpty else { return ([], false) }
            guard state.backlog <= lowWater else { return ([], true) }
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            return (waiters, false)
        }
        // Never resume continuations while holding the lock.
        for waiter in resumed { waiter.resume(returning: true) }
        return waiting
    }

    /// On the loop, once the connection is closed: drops queued messages and releases every waiter.
    func markClosed() {
        loop.assertInEventLoop()
        let resumed = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.closed = true
            state.inbox = []
            state.inboxBytes = 0
            spareInbox = []
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            return waiters
        }
        for waiter in resumed { waiter.resume(returning: false) }
    }
}
