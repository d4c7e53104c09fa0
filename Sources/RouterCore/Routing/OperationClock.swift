/// An opened `any Clock<Duration>`: instants are offsets from the moment the box was made.
///
/// Lets the router keep one injected clock (``ContinuousClock`` in production, a manual clock in
/// tests) without generic parameters everywhere.
struct OperationClock: Sendable {
    /// Time since the box was created.
    let now: @Sendable () -> Duration
    /// Sleeps until `now() >= offset`; throws `CancellationError` when cancelled.
    let sleepUntil: @Sendable (Duration) async throws -> Void

    init(_ clock: any Clock<Duration>) {
        self = Self.open(clock)
    }

    private init(now: @escaping @Sendable () -> Duration, sleepUntil: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleepUntil = sleepUntil
    }

    private static func open<C: Clock<Duration>>(_ clock: C) -> OperationClock {
        let origin = clock.now
        return OperationClock(
            now: { origin.duration(to: clock.now) },
            sleepUntil: { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) })
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
