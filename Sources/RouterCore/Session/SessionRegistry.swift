/// Every live session of a ``RouterService`` by id, and the expiry of detached ones (DESIGN §6).
///
/// A detached session ends when its resume window runs out, or when more than
/// `maxDetachedSessions` are detached (the one detached longest goes first). The ids of sessions
/// that expired are remembered (as many as `maxDetachedSessions`) so a late `resume` is told
/// `expired` rather than `unknown_session`.
final class SessionRegistry: Sendable {
    private struct Detached {
        let session: RouterSession
        let generation: UInt64
        let order: UInt64
        /// Its expiry (a timer entry on the production clock: it never waits for the cooperative pool).
        var timer: ScheduledAction?
    }

    private struct State {
        var sessions: [String: RouterSession] = [:]
        var detached: [String: Detached] = [:]
        /// Detached ids in the order they detached (entries whose order no longer matches are stale).
        var detachOrder: [(id: String, order: UInt64)] = []
        var detachOrderHead = 0
        var nextOrder: UInt64 = 0
        var expiredIDs: Set<String> = []
        var expiredOrder: [String] = []
        var expiredOrderHead = 0
        var stopped = false
    }

    private let settings: ResumeSettings
    private let clock: OperationClock
    private let metrics: OperationMetrics
    private let state = Locked(State())

    init(settings: ResumeSettings, clock: OperationClock, metrics: OperationMetrics) {
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
    }

    /// Adds a new session; false once the registry has stopped (the session is ended at once).
    func register(_ session: RouterSession) {
        let stopped = state.withLock { state -> Bool in
            guard !state.stopped else { return true }
            state.sessions[session.id] = session
            return false
        }
        if stopped { session.end() }
    }

    /// The live session with `id` (attached or detached).
    func session(_ id: String) -> RouterSession? { state.withLock { $0.sessions[id] } }

    /// Whether a session with `id` expired (its window ran out, or it was the oldest detached one past the bound).
    func hasExpired(_ id: String) -> Bool { state.withLock { $0.expiredIDs.contains(id) } }

    /// Forgets a session that ended (without expiring).
    func remove(_ session: RouterSession) {
        let detached = state.withLock { state -> Detached? in
            state.sessions[session.id] = nil
            return state.detached.removeValue(forKey: session.id)
        }
        if let detached {
            detached.timer?.cancel()
            metrics.detachedSessionLeft(resumed: false, expired: false)
        }
    }

    /// `session` detached from its connection of `generation`: arms its expiry, and expires the
    /// oldest detached session when there are too many.
    func detached(_ session: RouterSession, generation: UInt64) {
        metrics.sessionDetached()
        let deadline = clock.now() + settings.window
        let clock = self.clock
        // Registered as detached before its expiry is armed: an expiry that fired first (a manual clock
        // advanced at once) found nothing to record, and the session was later told `unknown_session`.
        let (order, evicted) = state.withLock { state -> (UInt64?, [Detached]) in
            guard !state.stopped else { return (nil, []) }
            state.nextOrder += 1
            let order = state.nextOrder
            state.detached[session.id] = Detached(session: session, generation: generation, order: order, timer: nil)
            state.detachOrder.append((session.id, state.nextOrder))
            var evicted: [Detached] = []
            // Too many detached sessions, or too many bytes held: the oldest detached ones go first.
            var excessBytes = metrics.replayBufferBytes - settings.maxBufferedBytesTotal
            while state.detached.count - evicted.count > settings.maxDetachedSessions || excessBytes > 0,
                state.detachOrderHead < state.detachOrder.count
            {
                let (id, order) = state.detachOrder[state.detachOrderHead]
                state.detachOrderHead += 1
                if let oldest = state.detached[id], oldest.order == order {
                    evicted.append(oldest)
                    excessBytes -= oldest.session.replayBytes
                }
            }
            if state.detachOrderHead >= 1024, state.detachOrderHead * 2 >= state.detachOrder.count {
                state.detachOrder.removeFirst(state.detachOrderHead)
                state.detachOrderHead = 0
            }
            return (order, evicted)
        }
        if let order {
            // A timer entry, not a task sleeping on the cooperative pool: with that pool busy (CPU-bound
            // work elsewhere in the process) a detached session would not expire on time.
            let timer = clock.schedule(deadline) { [weak self] in
                self?.expire(session, generation: generation)
            }
            let armed = state.withLock { state -> Bool in
                guard state.detached[session.id]?.order == order else { return false }
                state.detached[session.id]?.timer = timer
                return true
            }
            if !armed { timer.cancel() }  // resumed, evicted or removed meanwhile
        }
        for oldest in evicted {
            oldest.timer?.cancel()
            expire(oldest.session, generation: oldest.generation)
        }
    }

    /// A detached session was resumed: its expiry is disarmed.
    func resumed(_ session: RouterSession) {
        guard let detached = state.withLock({ $0.detached.removeValue(forKey: session.id) }) else { return }
        detached.timer?.cancel()
        metrics.detachedSessionLeft(resumed: true, expired: false)
    }

    private func expire(_ session: RouterSession, generation: UInt64) {
        guard session.expire(detachedFrom: generation) else { return }
        let wasDetached = state.withLock { state -> Bool in
            state.sessions[session.id] = nil
            guard state.detached[session.id]?.generation == generation else { return false }
            state.detached[session.id] = nil
            state.expiredIDs.insert(session.id)
            state.expiredOrder.append(session.id)
            if state.expiredOrder.count - state.expiredOrderHead > max(settings.maxDetachedSessions, 1) {
                state.expiredIDs.remove(state.expiredOrder[state.expiredOrderHead])
                state.expiredOrderHead += 1
                if state.expiredOrderHead * 2 >= state.expiredOrder.count {
                    state.expiredOrder.removeFirst(state.expiredOrderHead)
                    state.expiredOrderHead = 0
                }
            }
            return true
        }
        if wasDetached { metrics.detachedSessionLeft(resumed: false, expired: true) }
    }

    /// Ends every session (the service is stopping); sessions registered later end at once.
    func endAll() {
        let (sessions, detached) = state.withLock { state -> ([RouterSession], [Detached]) in
            state.stopped = true
            defer {
                state.sessions = [:]
                state.detached = [:]
            }
            return (Array(state.sessions.values), Array(state.detached.values))
        }
        for entry in detached {
            entry.timer?.cancel()
            metrics.detachedSessionLeft(resumed: false, expired: false)
        }
        for session in sessions { session.end() }
    }
}
