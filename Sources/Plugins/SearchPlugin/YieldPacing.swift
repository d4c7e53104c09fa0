/// When a long computation yields its thread: once it has run ``interval`` since it last did, not after every
/// step. A slice of a sparse BM25 search can take microseconds, and a yield (a hop through the executor's
/// queue) costs about as much; a slice of a cosine scan over a million vectors takes milliseconds.
struct YieldPacing {
    /// How long a search runs between two yields, so requests queued behind it on the handler threads wait
    /// at most about this long for one of them.
    static let interval: Duration = .milliseconds(1)

    private var lastYield: ContinuousClock.Instant

    /// Starts counting at `start`.
    init(start: ContinuousClock.Instant) {
        lastYield = start
    }

    /// Whether to yield now; if so, the next interval counts from `now`.
    mutating func shouldYield(at now: ContinuousClock.Instant) -> Bool {
        guard now - lastYield >= Self.interval else { return false }
        lastYield = now
        return true
    }
}
