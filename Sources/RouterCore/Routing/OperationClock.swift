/// An opened `any Clock<Duration>`: instants are offsets from the moment the box was made.
///
/// Lets the router keep one injected clock (``ContinuousClock`` in production, a manual clock in
/// tests) without generic parameters everywhere.
struct OperationClock: Sendable {
    /// Time since the box was created.
    let now: @Sendable () -> Duration
    /// Runs an action once `now() >= offset`, unless cancelled first (see ``ScheduledAction``).
    let schedule: @Sendable (_ offset: Duration, _ action: @escaping @Sendable () -> Void) -> ScheduledAction
    /// Like ``schedule``, for an action that may run up to ``DeadlineTimer/groupingResolution`` late: the
    /// production clock runs the actions due in one such window together, from one heap entry (every
    /// request's quiet-start end).
    let scheduleGrouped: @Sendable (_ offset: Duration, _ action: any TimerAction) -> ScheduledAction

    init(_ clock: any Clock<Duration>) {
        self = Self.open(clock)
    }

    private init(
        now: @escaping @Sendable () -> Duration,
        schedule: @escaping @Sendable (Duration, @escaping @Sendable () -> Void) -> ScheduledAction,
        scheduleGrouped: @escaping @Sendable (Duration, any TimerAction) -> ScheduledAction
    ) {
        self.now = now
        self.schedule = schedule
        self.scheduleGrouped = scheduleGrouped
    }

    private static func open<C: Clock<Duration>>(_ clock: C) -> OperationClock {
        let origin = clock.now
        let sleepUntil: @Sendable (Duration) async throws -> Void = { offset in
            try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil)
        }
        // The production clock: one timer thread for every request. Any other clock (a test's manual
        // clock): a task that sleeps on it, so advancing that clock fires the action.
        let schedule: @Sendable (Duration, @escaping @Sendable () -> Void) -> ScheduledAction
        let scheduleGrouped: @Sendable (Duration, any TimerAction) -> ScheduledAction
        if let origin = origin as? ContinuousClock.Instant {
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
        return OperationClock(now: { origin.duration(to: clock.now) }, schedule: schedule, scheduleGrouped: scheduleGrouped)
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
