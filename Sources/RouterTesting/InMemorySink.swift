package import RouterCore

/// An ``OutboundMessageSink`` that records what a session sends, for session-level tests without sockets.
package final class InMemorySink: OutboundMessageSink, Sendable {
    private struct State {
        var raw: [[UInt8]] = []
        var parsed: [JSONValue] = []
        var writable = true
        var writableWaiters: [CheckedContinuation<Bool, Never>] = []
        var closedWith: (code: CloseCode, reason: String)?
    }

    private let state = Locked(State())
    package let usesPerMessageDeflate: Bool

    package init(usesPerMessageDeflate: Bool = false) {
        self.usesPerMessageDeflate = usesPerMessageDeflate
    }

    package func sendText(_ utf8: [UInt8]) {
        let parsed = (try? JSONValue(jsonBytes: utf8)) ?? .string(String(decoding: utf8, as: UTF8.self))
        state.withLock { state in
            guard state.closedWith == nil else { return }
            state.raw.append(utf8)
            state.parsed.append(parsed)
        }
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
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            if state.closedWith == nil { state.closedWith = (code, reason) }
            defer { state.writableWaiters = [] }
            return state.writableWaiters
        }
        for waiter in waiters { waiter.resume(returning: false) }
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
    /// The close the session asked for, if any.
    package var closeCode: CloseCode? { state.withLock { $0.closedWith?.code } }

    /// Waits (polling every millisecond) until `predicate` holds, or `timeout` passes; returns whether it
    /// held. A poll, not a signal: session tests wait through it on service state (requests in flight,
    /// metrics) that nothing signals, as well as on the messages.
    @discardableResult
    package func waitFor(timeout: Duration = .seconds(10), _ predicate: ([JSONValue]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: timeout)
        while clock.now < end {
            if predicate(messages) { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return predicate(messages)
    }
}
