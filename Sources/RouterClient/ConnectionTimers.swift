/// The time-driven part of one connection (STYLE rule 2: time passed in, actions out): the
/// dead-peer check and the periodic `ack`.
///
/// The server announces `heartbeat` {`interval`, `timeout`} in `welcome`. After `interval` with
/// nothing received the client sends an app-level `ping` to provoke traffic; after
/// `interval + timeout` of silence the connection counts as dead. Any inbound message, control
/// frames included, counts as traffic.
struct ConnectionTimers {
    typealias Instant = ContinuousClock.Instant

    enum Action: Equatable {
        /// Nothing to do before this instant (or an inbound message).
        case wait(until: Instant)
        /// Silent for `interval`: send an app-level `ping`.
        case sendPing
        /// Silent for `interval + timeout`: drop the connection.
        case dead(silence: Duration)
        /// Time for the periodic `ack` (sent only if the seq advanced).
        case ack
    }

    let heartbeatInterval: Duration
    let heartbeatTimeout: Duration
    let ackInterval: Duration
    private(set) var lastTraffic: Instant
    private var pingSent = false
    private var nextAck: Instant

    init(heartbeatInterval: Duration, heartbeatTimeout: Duration, ackInterval: Duration, now: Instant) {
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.ackInterval = ackInterval
        lastTraffic = now
        nextAck = now + ackInterval
    }

    /// Something arrived.
    mutating func received(now: Instant) {
        lastTraffic = now
        pingSent = false
    }

    /// What is due at `now`; call again until it answers `.wait`.
    mutating func next(now: Instant) -> Action {
        let silence = now - lastTraffic
        if silence >= heartbeatInterval + heartbeatTimeout { return .dead(silence: silence) }
        if !pingSent, silence >= heartbeatInterval {
            pingSent = true
            return .sendPing
        }
        if now >= nextAck {
            nextAck = now + ackInterval
            return .ack
        }
        let heartbeatDeadline = lastTraffic + heartbeatInterval + (pingSent ? heartbeatTimeout : .zero)
        return .wait(until: min(heartbeatDeadline, nextAck))
    }
}
