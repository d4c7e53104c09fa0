/// The per-connection message rate limit: a token bucket holding `burst` messages, refilled at `rate`
/// per second. Time is passed in, so tests can drive it.
///
/// A message that finds no token is refused (the client gets `rate_limited`). Refusals are counted
/// from the moment the bucket was last full: a peer refused more than `burst` times without ever
/// letting the bucket fill up again keeps flooding, and ``Decision/close`` says to end the connection.
struct MessageRateLimiter {
    enum Decision: Equatable {
        case accept
        case refuse
        case close
    }

    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private var refusedSinceFull = 0

    /// A limiter with a full bucket at `now`; nil when `perSecond` is 0 (no limit).
    init?(perSecond: Int, burst: Int, now: ContinuousClock.Instant) {
        guard perSecond > 0 else { return nil }
        self.rate = Double(perSecond)
        self.burst = Double(max(1, burst))
        self.tokens = self.burst
        self.last = now
    }

    /// Takes a token for one message arriving at `now`.
    mutating func take(now: ContinuousClock.Instant) -> Decision {
        let elapsed = last.duration(to: now)
        if elapsed > .zero {
            let (seconds, attoseconds) = elapsed.components
            tokens = min(burst, tokens + (Double(seconds) + Double(attoseconds) * 1e-18) * rate)
            last = now
        }
        if tokens >= burst { refusedSinceFull = 0 }
        if tokens >= 1 {
            tokens -= 1
            return .accept
        }
        refusedSinceFull += 1
        return Double(refusedSinceFull) > burst ? .close : .refuse
    }
}
