public import RouterCore

/// Wraps a handler to tell whether, and how, its `handle` really ended, with no test hooks in the handler.
///
/// A request's final event says what the client saw (`cancelled` at once on a cancel); the probe says
/// whether the handler actually stopped afterwards, or keeps running as a zombie:
///
/// ```swift
/// let probe = HandlerProbe(MemoryStreamHandler())
/// let events = await OperationHarness(probe).run(request, cancellingAfterEvents: 3)
/// #expect(await probe.stopped() == .cancelled)
/// ```
///
/// With a ``Gate`` the probe holds the handler before it starts, until the gate opens.
public final class HandlerProbe<Inner: OperationHandler>: OperationHandler {
    public typealias Request = Inner.Request
    public typealias Response = Inner.Response
    public static var messageType: String { Inner.messageType }
    public static var eventPrefix: String { Inner.eventPrefix }
    public static var timeout: Duration { Inner.timeout }
    public static var stages: [ProgressStage] { Inner.stages }

    /// How `handle` ended.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// It returned a response.
        case completed
        /// It threw `CancellationError` (it noticed a cancel, a timeout or the end of its request).
        case cancelled
        /// It threw another error (described).
        case failed(String)

        public var description: String {
            switch self {
            case .completed: "completed"
            case .cancelled: "cancelled"
            case .failed(let error): "failed: \(error)"
            }
        }
    }

    private struct State {
        var started = false
        var outcome: Outcome?
        var startWaiters: [CheckedContinuation<Void, Never>] = []
        var endWaiters: [UInt64: CheckedContinuation<Outcome?, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    public let inner: Inner
    public let gate: Gate?
    private let state = Locked(State())

    /// - Parameter gate: if given, `handle` waits for it to open before running `inner`.
    public init(_ inner: Inner, gate: Gate? = nil) {
        self.inner = inner
        self.gate = gate
    }

    /// How `handle` ended, or nil while it runs (or never ran).
    public var outcome: Outcome? { state.withLock { $0.outcome } }
    /// Whether `handle` was called.
    public var started: Bool { state.withLock { $0.started } }

    /// Returns once `handle` was called.
    public func waitUntilStarted() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let started = state.withLock { state in
                if !state.started { state.startWaiters.append(continuation) }
                return state.started
            }
            if started { continuation.resume() }
        }
    }

    /// How `handle` ended, waiting for it at most `timeLimit` of real time: nil means it is still running
    /// (a handler that ignores cancellation).
    public func stopped(within timeLimit: Duration = .seconds(10)) async -> Outcome? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(for: timeLimit, clock: .continuous)
            let waiter = state.withLock { $0.endWaiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome?, Never>) in
            let outcome = state.withLock { state -> Outcome?? in
                if let outcome = state.outcome { return .some(outcome) }
                state.endWaiters[id] = continuation
                return .none
            }
            if case .some(let outcome) = outcome { continuation.resume(returning: outcome) }
        }
    }

    public func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let startWaiters = state.withLock { state in
            state.started = true
            defer { state.startWaiters = [] }
            return state.startWaiters
        }
        for waiter in startWaiters { waiter.resume() }
        await gate?.wait()
        do {
            let response = try await inner.handle(request, context: context)
            end(.completed)
            return response
        } catch {
            end(error is CancellationError ? .cancelled : .failed(String(describing: error)))
            throw error
        }
    }

    private func end(_ outcome: Outcome) {
        let waiters = state.withLock { state in
            state.outcome = outcome
            defer { state.endWaiters = [:] }
            return Array(state.endWaiters.values)
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }
}
