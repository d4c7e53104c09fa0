package import RouterCore

/// An ``OutboundMessageSink`` that records what a session sends, for session-level tests without sockets.
package final class InMemorySink: OutboundMessageSink, Sendable {
    private struct State {
        var raw: [[UInt8]] = []
        var parsed: [JSONValue] = []
        var writable = true
        var writableWaiters: [CheckedContinuation<Bool, Never>] = []
        var closedWith: (code: CloseCode, reason: String)?
        /// Counts sends and the close: a waiter sleeps until it changes.
        var generation: UInt64 = 0
        var changeWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0

        /// Records a change; returns the waiters to wake (outside the lock).
        mutating func changed() -> [CheckedContinuation<Void, Never>] {
            generation += 1
            defer { changeWaiters = [:] }
            return Array(changeWaiters.values)
        }
    }

    private let state = Locked(State())
    package let usesPerMessageDeflate: Bool

    package init(usesPerMessageDeflate: Bool = false) {
        self.usesPerMessageDeflate = usesPerMessageDeflate
    }

    package func sendText(_ utf8: [UInt8]) {
        let parsed = (try? JSONValue(jsonBytes: utf8)) ?? .string(String(decoding: utf8, as: UTF8.self))
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.closedWith == nil else { return [] }
            state.raw.append(utf8)
            state.parsed.append(parsed)
            return state.changed()
        }
        for waiter in waiters { waiter.resume() }
    }

    package func waitUntilWritable() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                if state.closedWith != nil { return false }
                if state.writable { return true }
                state.writableWaiters.append(continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    package func close(code: CloseCode, reason: String) {
        let (waiters, changeWaiters) = state.withLock { state in
            if state.closedWith == nil { state.closedWith = (code, reason) }
            defer { state.writableWaiters = [] }
            return (state.writableWaiters, state.changed())
        }
        for waiter in waiters { waiter.resume(returning: false) }
        for waiter in changeWaiters { waiter.resume() }
    }

    /// Simulates the outbound queue crossing its high-water mark (`false`) or draining (`true`).
    package func setWritable(_ writable: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.writable = writable
            guard writable else { return [] }
            defer { state.writableWaiters = [] }
            return state.writableWaiters
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Every message sent so far, parsed.
    package var messages: [JSONValue] { state.withLock { $0.parsed } }
    /// Every message sent so far, as sent.
    package var rawMessages: [[UInt8]] { state.withLock { $0.raw } }
    /// Waits in ``waitFor(timeout:_:)`` that are asleep until the next send or close.
    package var sleepingWaiters: Int { state.withLock { $0.changeWaiters.count } }
    /// The close the session asked for, if any.
    package var closeCode: CloseCode? { state.withLock { $0.closedWith?.code } }

    /// Waits until `predicate` holds for the messages, or `timeout` passes: the predicate is checked again
    /// each time a message is sent or the sink is closed, never on a timer. Returns whether it held.
    @discardableResult
    package func waitFor(timeout: Duration = .seconds(10), _ predicate: ([JSONValue]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let (messages, generation) = state.withLock { ($0.parsed, $0.generation) }
            if predicate(messages) { return true }
            guard ContinuousClock.now < deadline else { return false }
            await nextChange(after: generation, until: deadline)
        }
    }

    /// Returns once something was sent or the sink closed after `generation`, or at `deadline`.
    private func nextChange(after generation: UInt64, until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        // The time limit only ends the wait; it never decides what the test sees.
        let limit = Task {
            try? await Task.sleep(until: deadline)
            state.withLock { $0.changeWaiters.removeValue(forKey: id) }?.resume()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let current = state.withLock { state -> Bool in
                guard state.generation == generation, ContinuousClock.now < deadline else { return false }
                state.changeWaiters[id] = continuation
                return true
            }
            if !current { continuation.resume() }
        }
        limit.cancel()
    }
}
