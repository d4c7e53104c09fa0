extension RouterClient {
    /// When to retry after a drop: exponential backoff with jitter.
    ///
    /// The delay before attempt `n` (0 after a drop of a working connection, +1 per failed attempt) is
    /// `cap(n) × (1 − jitter × r)` with `cap(n) = min(maximumDelay, initialDelay × multiplierⁿ)` and
    /// `r` from ``random`` in `0..<1`: with the default full jitter, anywhere in `[0, cap(n)]`, so 100
    /// clients cut at once do not come back in one burst.
    public struct ReconnectPolicy: Sendable {
        /// The cap of the first delay (default 0.5 s).
        public var initialDelay: Duration
        /// The largest delay (default 20 s).
        public var maximumDelay: Duration
        /// Growth of the cap per failed attempt (default 2).
        public var multiplier: Double
        /// Share of the cap that is randomised, 0…1 (default 1: full jitter).
        public var jitter: Double
        /// Failed attempts in a row before giving up (requests then fail with ``RouterError/offline``); nil retries forever.
        public var maxAttempts: Int?
        /// The random source, `0..<1` (tests inject a fixed one).
        public var random: @Sendable () -> Double

        /// A policy; the defaults are 0.5 s doubling to 20 s with full jitter, retrying forever.
        public init(
            initialDelay: Duration = .milliseconds(500),
            maximumDelay: Duration = .seconds(20),
            multiplier: Double = 2,
            jitter: Double = 1,
            maxAttempts: Int? = nil,
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
        ) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.multiplier = multiplier
            self.jitter = min(max(jitter, 0), 1)
            self.maxAttempts = maxAttempts
            self.random = random
        }

        /// The upper bound of the delay before attempt `attempt`.
        public func cap(attempt: Int) -> Duration {
            let growth = pow(multiplier, Double(min(max(attempt, 0), 64)))
            let seconds = min(initialDelay.seconds * growth, maximumDelay.seconds)
            return .nanoseconds(Int64((seconds * 1e9).rounded()))
        }

        /// The delay before attempt `attempt` (draws one random number).
        public func delay(attempt: Int) -> Duration {
            let cap = cap(attempt: attempt)
            let r = min(max(random(), 0), 1)
            return .nanoseconds(Int64((cap.seconds * (1 - jitter * r) * 1e9).rounded()))
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// `x` to the power `y` without Foundation.
private func pow(_ x: Double, _ y: Double) -> Double {
    var result = 1.0
    for _ in 0..<Int(y) { result *= x }
    return result
}
