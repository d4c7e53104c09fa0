/// When an open WebSocket pings its peer, and when it gives up on a silent one (DESIGN §3).
///
/// A ping goes out every ``interval``; a peer heard from nothing at all (no frame, no pong, no byte) for
/// ``interval`` + ``timeout`` is closed. A value that takes the time as a parameter: the connection feeds it
/// what it reads and asks it what to do when its timer fires, so tests need no clock and no waiting.
struct Heartbeat: Equatable {
    /// What the connection does when its heartbeat timer fires.
    enum Action: Equatable {
        /// Nothing yet; look again at ``Heartbeat/nextCheck``.
        case wait
        /// Send a ping, then look again at ``Heartbeat/nextCheck``.
        case sendPing
        /// The peer was silent for `silence`: close the connection (1001).
        case closeSilentPeer(silence: Duration)
    }

    /// In nanoseconds: every open connection holds a heartbeat, and two `Duration`s take 16 bytes more.
    private let intervalNanoseconds: Int64
    private let timeoutNanoseconds: Int64
    private(set) var lastHeard: ContinuousClock.Instant
    private(set) var nextPing: ContinuousClock.Instant

    var interval: Duration { .nanoseconds(intervalNanoseconds) }
    var timeout: Duration { .nanoseconds(timeoutNanoseconds) }

    /// Starts the heartbeat of a connection that opened at `now`: the first ping is due one interval later.
    /// (Both durations are kept to the nanosecond, at most 292 years.)
    init(interval: Duration, timeout: Duration, openedAt now: ContinuousClock.Instant) {
        intervalNanoseconds = Self.nanoseconds(interval)
        timeoutNanoseconds = Self.nanoseconds(timeout)
        lastHeard = now
        nextPing = now + .nanoseconds(intervalNanoseconds)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, carry) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return carry ? (scaled < 0 ? .min : .max) : total
    }

    /// Bytes arrived from the peer at `now`.
    mutating func heard(at now: ContinuousClock.Instant) {
        lastHeard = now
    }

    /// When the timer must fire next: the next ping, or the moment the peer's silence becomes too long.
    var nextCheck: ContinuousClock.Instant {
        min(nextPing, lastHeard + interval + timeout)
    }

    /// What to do when the timer fires at `now`.
    mutating func check(at now: ContinuousClock.Instant) -> Action {
        let silence = lastHeard.duration(to: now)
        if silence >= interval + timeout { return .closeSilentPeer(silence: silence) }
        guard now >= nextPing else { return .wait }
        nextPing = now + interval
        return .sendPing
    }
}
