/// When a connection gives up on a peer that does not read what it is sent (DESIGN §3, `slowConsumerTimeoutMs`).
///
/// The watch starts when the outbound backlog rises above the high-water mark, or is above the low-water mark
/// while producers wait for it, and ends only when it falls to the low-water mark: the hysteresis of the
/// producers' suspension and the paused reads. A peer that stops reading leaves the backlog wherever the
/// kernel's buffers filled, possibly between the two marks, where producers stay suspended and nothing more
/// is written; and a producer may be suspended by a backlog the connection never saw above the high-water
/// mark (its messages were still on their way to the loop). The watch used to run only while the
/// connection's own backlog was above the high-water mark, which left such a connection and its stream
/// stuck until the heartbeat gave up on the peer (an end-to-end test timed out on it in 2 of 12 parallel
/// runs). A value: the connection reports each backlog it sees and applies the action.
struct SlowConsumerWatch: Equatable {
    /// What the connection does after reporting a backlog.
    enum Action: Equatable {
        case none
        /// The backlog rose above the high-water mark: close the peer (1008) if the watch still runs after
        /// the timeout.
        case startTimer
        /// The peer caught up: cancel the pending close.
        case cancelTimer
        /// Far above the mark (a router connection 4× above it): close now.
        case closeNow(backlog: Int)
    }

    let highWater: Int
    let lowWater: Int
    /// Whether the timer runs: the backlog went above the high-water mark and has not fallen to the low one.
    private(set) var isWatching = false

    init(highWater: Int, lowWater: Int) {
        self.highWater = highWater
        self.lowWater = lowWater
    }

    /// The connection's outbound backlog is `backlog` bytes; `producersWaiting` when producers are suspended
    /// for it. `closesFarAboveHighWater`: a backlog 4× above the high-water mark closes at once (router
    /// connections, whose sessions produce whether or not the peer sends; the echo endpoint only answers
    /// what it reads).
    mutating func observe(backlog: Int, producersWaiting: Bool = false, closesFarAboveHighWater: Bool) -> Action {
        if closesFarAboveHighWater, backlog > highWater * 4 { return .closeNow(backlog: backlog) }
        if backlog > highWater || (producersWaiting && backlog > lowWater) {
            guard !isWatching else { return .none }
            isWatching = true
            return .startTimer
        }
        guard isWatching, backlog <= lowWater else { return .none }
        isWatching = false
        return .cancelTimer
    }
}
