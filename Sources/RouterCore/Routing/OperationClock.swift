/// An opened `any Clock<Duration>`: instants are offsets from the moment the box was made.
///
/// Lets the router keep one injected clock (``ContinuousClock`` in production, a manual clock in
/// tests) without generic parameters everywhere. A class: a request's channel, context, deadline and run
/// each hold it, and a copy costs one reference count, not one per closure; the production clock reads
/// the time without calling through a closure.
final class OperationClock: Sendable {
    /// The production clock's origin (nil for any other clock).
    private let continuousOrigin: ContinuousClock.Instant?
    private let readNow: @Sendable () -> Duration
    private let scheduleAction: @Sendable (_ offset: Duration, _ action: @escaping @Sendable () -> Void) -> ScheduledAction
    private let scheduleGroupedAction: @Sendable (_ offset: Duration, _ action: any TimerAction) -> ScheduledAction

    init(_ clock: any Clock<Duration>) {
        let opened = Self.open(clock)
        continuousOrigin = opened.0
        readNow = opened.1
        scheduleAction = opened.2
        scheduleGroupedAction = opened.3
    }

    /// Time since the box was created.
    func now() -> Duration {
        if let continuousOrigin { return continuousOrigin.duration(to: .now) }
        return readNow()
    }

    /// Runs an action once `now() >= offset`, unless cancelled first (see ``ScheduledAction``).
    func schedule(_ offset: Duration, _ action: @escaping @Sendable () -> Void) -> ScheduledAction {
        scheduleAction(offset, action)
    }

    /// Like ``schedule(_:_:)``, for an action that may run up to ``DeadlineTimer/groupingResolution`` late:
    /// the production clock runs the actions due in one such window together, from one heap entry (every
    /// request's quiet-start end).
    func scheduleGrouped(_ offset: Duration, _ action: any TimerAction) -> ScheduledAction {
        scheduleGroupedAction(offset, action)
    }

    private static func open<C: Clock<Duration>>(_ clock: C) -> (
        ContinuousClock.Instant?, @Sendable () -> Duration,
        @Sendable (Duration, @escaping @Sendable () -> Void) -> ScheduledAction,
        @Sendable (Duration, any TimerAction) -> ScheduledAction
    ) {
        let origin = clock.now
        let sleepUntil: @Sendable (Duration) async throws -> Void = { offset in
            try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil)
        }
        // The production clock: one timer thread for every request. Any other clock (a test's manual
        // clock): a task that sleeps on it, so advancing that clock fires the action.
        let schedule: @Sendable (Duration, @escaping @Sendable () -> Void) -> ScheduledAction
        let scheduleGrouped: @Sendable (Duration, any TimerAction) -> ScheduledAction
        let continuousOrigin = origin as? ContinuousClock.Instant
        if let origin = continuousOrigin {
            schedule = { offset, action in
                .timer(DeadlineTimer.shared.schedule(at: origin.advanced(by: offset), action))
            }
            scheduleGrouped = { offset, action in
                .timer(DeadlineTimer.shared.scheduleGrouped(at: origin.advanced(by: offset), action))
            }
        } else {
            schedule = { offset, action in
                .task(
                    Task(executorPreference: RouterExecutors.control) {
                        guard (try? await sleepUntil(offset)) != nil else { return }
                        action()
                    })
            }
            scheduleGrouped = { offset, action in schedule(offset) { action.timerFired() } }
        }
        return (continuousOrigin, { origin.duration(to: clock.now) }, schedule, scheduleGrouped)
    }
}

/// An action scheduled on an ``OperationClock``; cancelling it is idempotent.
enum ScheduledAction: Sendable {
    case timer(DeadlineTimer.Handle)
    case task(Task<Void, Never>)

    func cancel() {
        switch self {
        case .timer(let handle): handle.cancel()
        case .task(let task): task.cancel()
        }
    }
}

/// When a request must end, on the router's clock.
public struct OperationDeadline: Sendable {
    /// The effective timeout of this request (declared or configured, possibly shortened by the request).
    public let timeout: Duration
    let endsAt: Duration
    let clock: OperationClock

    /// Time left before the router cancels the handler (zero or negative once passed).
    public var remaining: Duration { endsAt - clock.now() }
    public var hasPassed: Bool { remaining <= .zero }
}
