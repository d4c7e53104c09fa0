/// When to try connecting again after failures: exponential backoff with a cap, time passed in.
///
/// While a retry is not due, callers fail at once with ``RedisError/unavailable(lastError:retryIn:)`` rather
/// than wait: a write must fail fast when Redis is away, and the next attempt happens on the first call
/// after the delay.
public struct ReconnectBackoff: Sendable, Equatable {
    /// Delay after the first failure.
    public var initial: Duration
    /// Largest delay.
    public var maximum: Duration
    /// Consecutive failures so far.
    public private(set) var failures = 0
    /// The last failure's message.
    public private(set) var lastError: String?
    private var notBefore: ContinuousClock.Instant?

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// What a caller should do now.
    public enum Decision: Sendable, Equatable {
        /// Try to connect.
        case attempt
        /// Fail at once; the next attempt is due after this delay.
        case wait(Duration, lastError: String)
    }

    /// Whether a connection attempt is due at `now`.
    public func decide(now: ContinuousClock.Instant) -> Decision {
        guard let notBefore, now < notBefore else { return .attempt }
        return .wait(now.duration(to: notBefore), lastError: lastError ?? "unknown")
    }

    /// Records a failed attempt (or a lost connection) at `now`: the delay doubles up to ``maximum``.
    public mutating func failed(_ error: String, now: ContinuousClock.Instant) {
        var delay = initial
        for _ in 0..<min(failures, 20) where delay < maximum { delay = delay * 2 }
        failures += 1
        lastError = error
        notBefore = now + min(delay, maximum)
    }

    /// Records a successful connection: the next failure starts from ``initial`` again.
    public mutating func succeeded() {
        failures = 0
        lastError = nil
        notBefore = nil
    }
}
