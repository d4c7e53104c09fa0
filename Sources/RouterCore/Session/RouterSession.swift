import Synchronization

/// One client's session: its id and token, the `seq` counter, its in-flight requests, and the
/// messages its client may still need (DESIGN §6).
///
/// A session outlives its connection: when the connection drops it *detaches*, its operations keep
/// running and their messages are kept in its ``ReplayBuffer`` until a `resume` attaches a new
/// connection (or the window runs out, and the session ends). Every server message is numbered and
/// kept under the session's lock, then written to the attached connection, if any, so `seq` order
/// is wire order. A request's final event removes it from the in-flight map under that same lock,
/// so nothing can follow a request's final message.
final class RouterSession: Sendable {
    let id: String
    /// Secret the client presents with `resume` (never logged).
    let token: String

    private struct InFlight {
        let runToken: UInt64
        let descriptor: OperationDescriptor
        let startedAt: Duration
        /// The request's run, which cancels it.
        let canceller: any RequestCanceller
    }

    /// The connection a session writes to.
    struct Attachment: Sendable {
        let sink: any OutboundMessageSink
        /// Set when this client asked for `?compress=gzip` and the transport does not deflate.
        let gzip: (@Sendable ([UInt8]) -> [UInt8])?
    }

    /// Where a session stands: each connection attached gets a new generation.
    private enum Phase {
        case attached(Attachment, generation: UInt64)
        /// The connection of `generation` dropped; a resume may attach a new one.
        case detached(generation: UInt64)
        case ended
    }

    private struct State {
        var seq: UInt64 = 0
        var inFlight: [String: InFlight] = [:]
        var nextServerID = 1
        var phase: Phase
        var lastGeneration: UInt64 = 1
        /// nil when resume is off.
        var replay: ReplayBuffer?
        /// The client acknowledges what it sees: its streams wait instead of outgrowing the replay buffer.
        var acknowledges = false
        /// Bumped whenever writability may have changed (attach, detach, end, an ack that freed room).
        var changes: UInt64 = 0
        var changeWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0

        mutating func changed() -> [CheckedContinuation<Void, Never>] {
            changes += 1
            defer { changeWaiters = [:] }
            return Array(changeWaiters.values)
        }
    }

    let router: Router
    let settings: RouterSettings
    let services: ServiceRegistry
    let metrics: OperationMetrics
    let limiter: InFlightLimiter
    let logger: Logger
    let clock: OperationClock
    private let state: Locked<State>
    /// Tells a request's events from those of an earlier request with the same id (``InFlight/runToken``).
    private let nextRunToken = Atomic<UInt64>(1)

    init(
        router: Router, settings: RouterSettings, attachment: Attachment, services: ServiceRegistry,
        metrics: OperationMetrics, limiter: InFlightLimiter, logger: Logger, clock: OperationClock
    ) {
        self.id = "s-" + Self.randomHex(bytes: 8)
        self.token = Self.randomHex(bytes: 16)
        self.router = router
        self.settings = settings
        self.services = services
        self.metrics = metrics
        self.limiter = limiter
        var logger = logger
        logger[metadataKey: "session.id"] = id
        self.logger = logger
        self.clock = clock
        let resume = settings.resume
        self.state = Locked(
            State(
                phase: .attached(attachment, generation: 1),
                replay: resume.isEnabled ? ReplayBuffer(maxMessages: resume.bufferMessages, maxBytes: resume.bufferBytes) : nil))
    }

    /// How a new connection attaches: the sink, and gzip if it asked (`?compress=gzip`) without deflate.
    static func attachment(sink: any OutboundMessageSink, request: UpgradeRequest, settings: RouterSettings) -> Attachment {
        let wantsGzip = request.query["compress"]?.lowercased() == "gzip"
        return Attachment(sink: sink, gzip: wantsGzip && !sink.usesPerMessageDeflate ? settings.gzip : nil)
    }

    /// The `seq` of the last message queued.
    var lastSeq: UInt64 { state.withLock { $0.seq } }

    /// Bytes held in this session's replay buffer.
    var replayBytes: Int { state.withLock { $0.replay?.bytes ?? 0 } }

    /// The generation of the connection attached now (nil when detached or ended).
    var attachedGeneration: UInt64? {
        state.withLock { state in
            if case .attached(_, let generation) = state.phase { return generation }
            return nil
        }
    }

    // MARK: Sending

    /// Writes message `seq` (its JSON text `bytes`) to a connection, in the gzip envelope if it asked for one.
    private func write(_ bytes: [UInt8], seq: UInt64, envelope: @autoclosure () -> ServerMessage.Envelope?, to attachment: Attachment) {
        if let gzip = attachment.gzip, bytes.count > settings.compressionThreshold, let envelope = envelope() {
            attachment.sink.sendText(envelope.wrap(seq: seq, json: bytes, gzip: gzip))
        } else {
            attachment.sink.sendText(bytes)
        }
    }

    /// Numbers and queues `message`; returns the bytes written to a connection (0 when none is attached).
    /// With `opType` they are counted as that operation's (a final message's are counted by the caller).
    @discardableResult
    private func enqueueLocked(_ state: inout State, _ message: ServerMessage, opType: String?) -> Int {
        state.seq += 1
        // An ended session's last messages (its cancelled operations' final events) go nowhere.
        if case .ended = state.phase { return 0 }
        let bytes = message.encoded(seq: state.seq)
        if state.replay != nil {
            metrics.replayBytesChanged(by: state.replay!.append(seq: state.seq, bytes: bytes))
        }
        guard case .attached(let attachment, _) = state.phase else { return 0 }
        if let opType { metrics.bytesSent(opType, count: bytes.count) }
        write(bytes, seq: state.seq, envelope: message.envelope, to: attachment)
        return bytes.count
    }

    func send(_ message: ServerMessage, opType: String? = nil) {
        _ = state.withLock { enqueueLocked(&$0, message, opType: opType) }
    }

    /// Starts closing the connection of `generation` if it is still the one attached.
    func closeConnection(generation: UInt64, code: CloseCode, reason: String) {
        let sink = state.withLock { state -> (any OutboundMessageSink)? in
            guard case .attached(let attachment, let current) = state.phase, current == generation else { return nil }
            return attachment.sink
        }
        sink?.close(code: code, reason: reason)
    }

    func reject(_ code: String, _ message: String, id: String?, op: String?) {
        metrics.requestRejected(code: code)
        send(.error(code: code, message: message, id: id, op: op))
    }

    func sendWelcome() {
        let operations: [JSONValue] = router.operations.map { descriptor in
            .object([
                "type": .string(descriptor.messageType), "prefix": .string(descriptor.eventPrefix),
                "timeout": .number(Double(OperationRunner.milliseconds(descriptor.timeout))),
                "stages": .array(descriptor.stages.map { .string($0.name) }),
            ])
        }
        let compression = state.withLock { state -> String in
            guard case .attached(let attachment, _) = state.phase else { return "none" }
            return attachment.sink.usesPerMessageDeflate ? "permessage-deflate" : (attachment.gzip != nil ? "gzip+base64" : "none")
        }
        let resume = settings.resume
        send(
            ServerMessage(
                type: "welcome",
                fields: [
                    ("session", .string(id)), ("token", .string(token)),
                    (
                        "heartbeat",
                        .object([
                            "interval": .number(Double(OperationRunner.milliseconds(settings.heartbeatInterval))),
                            "timeout": .number(Double(OperationRunner.milliseconds(settings.heartbeatTimeout))),
                        ])
                    ),
                    ("operations", .array(operations)),
                    (
                        "limits",
                        .object([
                            "maxMessageBytes": .number(Double(settings.maxMessageBytes)),
                            "maxInFlight": .number(Double(settings.maxInFlightPerConnection)),
                            "maxInFlightTotal": .number(Double(settings.maxInFlightTotal)),
                            "compressionThreshold": .number(Double(settings.compressionThreshold)),
                            "progressIntervalMs": .number(Double(OperationRunner.milliseconds(settings.progressInterval))),
                        ])
                    ),
                    ("compression", .string(compression)),
                    (
                        "resume",
                        .object([
                            "windowMs": .number(Double(resume.isEnabled ? OperationRunner.milliseconds(resume.window) : 0)),
                            "bufferMessages": .number(Double(resume.bufferMessages)),
                            "bufferBytes": .number(Double(resume.bufferBytes)),
                        ])
                    ),
                ]))
    }

    /// Delivers one event of the request `requestID` run `runToken`; false once it has ended.
    func deliver(_ event: OperationEvent, requestID: String, runToken: UInt64, descriptor: OperationDescriptor) -> Bool {
        // The time is needed for a final event only; a completion carries its elapsed time, measured as it ended.
        let now: Duration? =
            switch event {
            case .failure: clock.now()
            default: nil
            }
        var finished: (type: String, outcome: OperationMetrics.Outcome, duration: Duration)?
        // Encoded before the lock: only `seq` is spliced in under it.
        let message = ServerMessage.event(event, id: requestID, descriptor: descriptor)
        let delivered = state.withLock { state in
            // One lookup: the final event removes the entry at the index found.
            guard let index = state.inFlight.index(forKey: requestID) else { return false }
            let entry = state.inFlight[index].value
            guard entry.runToken == runToken else { return false }
            let type = entry.descriptor.messageType
            let outcome: OperationMetrics.Outcome? =
                switch event {
                case .failure(_, _, let outcome): outcome
                case .complete: .completed
                default: nil
                }
            // The final message is queued on the connection before the request's slot is released: a
            // graceful shutdown that waits for no request in flight, then closes with 1001, must find the
            // message ahead of its close frame (the loop runs both in the order they were queued).
            guard let outcome else {
                enqueueLocked(&state, message, opType: type)
                return true
            }
            let sent = enqueueLocked(&state, message, opType: nil)
            state.inFlight.remove(at: index)
            let duration: Duration
            if case .complete(_, let elapsed) = event {
                duration = elapsed
            } else {
                duration = (now ?? clock.now()) - entry.startedAt
            }
            finishLocked(entry: entry, outcome: outcome, duration: duration, bytesSent: sent)
            finished = (type, outcome, duration)
            return true
        }
        // One line per operation, written after the lock is released (and made only if its level is logged).
        if let finished {
            // Like Phoenix's handled events: a request that went as asked is a debug line, one that failed a notice.
            let level: Logger.Level = finished.outcome == .failed || finished.outcome == .timedOut ? .notice : .debug
            guard level >= logger.logLevel else { return delivered }
            var metadata: Logger.Metadata = [
                "op.id": requestID, "op.type": finished.type, "outcome": finished.outcome.rawValue,
                "duration.ms": "\(finished.duration.roundedMilliseconds)",
            ]
            if case .failure(let code, _, _) = event { metadata["error.code"] = code }
            logger.log(level, "operation finished", metadata: metadata)
        }
        return delivered
    }

    /// The request of `entry`, removed from the in-flight map, is counted and its server-wide slot released.
    private func finishLocked(entry: InFlight, outcome: OperationMetrics.Outcome, duration: Duration, bytesSent: Int) {
        // Counted before the server-wide slot is released: whoever sees no request in flight (a test, a
        // drain) also sees every one of them counted.
        metrics.operationFinished(entry.descriptor.messageType, outcome: outcome, duration: duration, bytesSent: bytesSent)
        limiter.release()
    }

    // MARK: Backpressure

    private enum WriteStep {
        case refuse
        case proceed
        case awaitChange(after: UInt64)
        case awaitSink(any OutboundMessageSink, changes: UInt64)
    }

    /// Suspends an operation's output while it cannot be taken: the attached connection is above its
    /// high-water mark, or (for a client that acknowledges, or while detached) the replay buffer is
    /// nearly full. Returns false once the session ended or the calling task is cancelled.
    func waitUntilWritable() async -> Bool {
        while !Task.isCancelled {
            let step = state.withLock { state -> WriteStep in
                let replayFull = state.replay?.isNearlyFull ?? false
                switch state.phase {
                case .ended:
                    return .refuse
                case .detached:
                    return replayFull ? .awaitChange(after: state.changes) : .proceed
                case .attached(let attachment, _):
                    if state.acknowledges, replayFull { return .awaitChange(after: state.changes) }
                    return .awaitSink(attachment.sink, changes: state.changes)
                }
            }
            switch step {
            case .refuse:
                return false
            case .proceed:
                return true
            case .awaitChange(let changes):
                await waitForChange(after: changes, onSuspend: settings.onProducerSuspendedForReplayRoom)
            case .awaitSink(let sink, let changes):
                if await sink.waitUntilWritable() { return true }
                // That connection is gone: wait for the session to detach from it (or be resumed).
                await waitForChange(after: changes)
            }
        }
        return false
    }

    /// Returns once the session changed since `changes` (at once if it already has), or the task is cancelled.
    /// `onSuspend` is called once the caller is registered to be woken (not when it returns at once).
    private func waitForChange(after changes: UInt64, onSuspend: (@Sendable () -> Void)? = nil) async {
        let waiterID = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waits = state.withLock { state -> Bool in
                    guard state.changes == changes, !Task.isCancelled else { return false }
                    state.changeWaiters[waiterID] = continuation
                    return true
                }
                if waits { onSuspend?() } else { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.changeWaiters.removeValue(forKey: waiterID) }?.resume()
        }
    }

    // MARK: Connections

    /// What ``connectionClosed(generation:code:)`` did.
    enum Departure: Equatable {
        /// The session waits for a resume; its expiry is for `generation`.
        case detached(generation: UInt64)
        case ended
        /// That connection was no longer the session's (it was taken over).
        case none
    }

    /// The connection of `generation` closed with `code`: a close by the client with 1000 (or resume
    /// turned off) ends the session; any other end detaches it.
    func connectionClosed(generation: UInt64, code: CloseCode) -> Departure {
        let (departure, cancellers, waiters) = state.withLock {
            state -> (Departure, [any RequestCanceller], [CheckedContinuation<Void, Never>]) in
            guard case .attached(_, let current) = state.phase, current == generation else { return (.none, [], []) }
            if code == .normal || state.replay == nil {
                let cancellers = endLocked(&state)
                return (.ended, cancellers, state.changed())
            }
            state.phase = .detached(generation: generation)
            return (.detached(generation: generation), [], state.changed())
        }
        for waiter in waiters { waiter.resume() }
        for canceller in cancellers { canceller.fire() }
        if departure != .none {
            logger.debug(
                departure == .ended ? "session ended with its connection" : "session detached",
                metadata: ["inFlight": "\(cancellers.count)", "close.code": "\(code.code)"])
        }
        return departure
    }

    /// Ends the session if it is still detached from `generation` (the resume window ran out).
    /// Returns whether it ended.
    func expire(detachedFrom generation: UInt64) -> Bool {
        let ended = state.withLock { state -> ([any RequestCanceller], [CheckedContinuation<Void, Never>])? in
            guard case .detached(let detached) = state.phase, detached == generation else { return nil }
            return (endLocked(&state), state.changed())
        }
        guard let (cancellers, waiters) = ended else { return false }
        for waiter in waiters { waiter.resume() }
        for canceller in cancellers { canceller.fire() }
        logger.info("session expired", metadata: ["cancelled": "\(cancellers.count)"])
        return true
    }

    /// Ends the session: its operations are cancelled (each still ends with one final event, kept nowhere)
    /// and its replay buffer is freed.
    func end() {
        let (cancellers, waiters) = state.withLock { state -> ([any RequestCanceller], [CheckedContinuation<Void, Never>]) in
            if case .ended = state.phase { return ([], []) }
            return (endLocked(&state), state.changed())
        }
        for waiter in waiters { waiter.resume() }
        for canceller in cancellers { canceller.fire() }
    }

    private func endLocked(_ state: inout State) -> [any RequestCanceller] {
        state.phase = .ended
        if state.replay != nil { metrics.replayBytesChanged(by: state.replay!.removeAll()) }
        return state.inFlight.values.map(\.canceller)
    }

    /// How a `resume` of this session went.
    enum ResumeOutcome: Equatable {
        /// Attached as `generation`; `replayed` buffered messages were written after `resumed`.
        case resumed(generation: UInt64, replayed: Int, inFlight: Int, tookOver: Bool)
        case failed(reason: String, message: String)
    }

    /// Attaches a new connection if `token` is this session's and every message after `lastSeq` is
    /// still held: writes `resumed`, then those messages, under the lock, so live messages follow them.
    /// A connection still attached is closed with 4001. `gap` and `seq_ahead` end the session.
    func resume(token candidate: String, lastSeq: UInt64, attachment: Attachment) -> ResumeOutcome {
        guard Self.constantTimeEqual(candidate, token) else {
            return .failed(reason: "bad_token", message: "the token does not match session \(id)")
        }
        var cancellers: [any RequestCanceller] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        let outcome = state.withLock { state -> ResumeOutcome in
            guard state.replay != nil else {
                return .failed(reason: "unknown_session", message: "resume is turned off on this server")
            }
            let previous: Attachment?
            switch state.phase {
            case .ended:
                return .failed(reason: "expired", message: "session \(id) has ended")
            case .detached:
                previous = nil
            case .attached(let attachment, _):
                previous = attachment
            }
            guard lastSeq <= state.seq else {
                cancellers = endLocked(&state)
                waiters = state.changed()
                return .failed(
                    reason: "seq_ahead", message: "lastSeq \(lastSeq) is ahead of the last message sent (\(state.seq))")
            }
            guard state.replay!.canResume(after: lastSeq) else {
                let missing = state.replay!.trimmedThrough
                cancellers = endLocked(&state)
                waiters = state.changed()
                return .failed(
                    reason: "gap",
                    message: "messages \(lastSeq + 1)…\(missing) are no longer held (replay buffer bounds exceeded)")
            }
            metrics.replayBytesChanged(by: state.replay!.acknowledge(through: lastSeq))
            state.acknowledges = true
            previous?.sink.close(code: .other(4001), reason: "session resumed elsewhere")
            state.lastGeneration += 1
            let generation = state.lastGeneration
            state.phase = .attached(attachment, generation: generation)
            waiters = state.changed()
            let inFlight = state.inFlight.keys.sorted()
            let resumed = ServerMessage(
                type: "resumed",
                fields: [
                    ("session", .string(id)), ("lastSeq", .number(Double(state.seq))),
                    ("inFlight", .array(inFlight.map { .string($0) })),
                ])
            attachment.sink.sendText(resumed.encodedWithoutSeq())
            let pending = state.replay!.messages(after: lastSeq)
            for entry in pending {
                write(entry.bytes, seq: entry.seq, envelope: ServerMessage.Envelope(of: entry.bytes), to: attachment)
            }
            return .resumed(generation: generation, replayed: pending.count, inFlight: inFlight.count, tookOver: previous != nil)
        }
        for waiter in waiters { waiter.resume() }
        for canceller in cancellers { canceller.fire() }
        return outcome
    }

    /// The client has everything up to `seq`: trims the replay buffer. Returns an error message when
    /// `seq` was never sent.
    func acknowledge(_ seq: UInt64) -> String? {
        let (error, waiters) = state.withLock { state -> (String?, [CheckedContinuation<Void, Never>]) in
            guard seq <= state.seq else {
                return ("ack: seq \(seq) is ahead of the last message sent (\(state.seq))", [])
            }
            state.acknowledges = true
            guard state.replay != nil else { return (nil, []) }
            let freed = state.replay!.acknowledge(through: seq)
            metrics.replayBytesChanged(by: freed)
            return (nil, freed != 0 ? state.changed() : [])
        }
        for waiter in waiters { waiter.resume() }
        return error
    }

    // MARK: Receiving

    /// Handles one message from the connection of `generation` (dropped if the session has moved on).
    /// A request's `preparation` is made here when not given (``InboundDecoder`` makes it off this thread
    /// for a large message).
    func handle(_ message: ClientMessage, preparation: RequestPreparation? = nil, generation: UInt64) {
        if case .request(let type, let id, let data, let timeout) = message {
            // The generation is checked when the request is admitted, under the lock that admits it.
            startRequest(
                type: type, id: id, preparation: preparation ?? router.prepare(type: type, data: data), timeout: timeout,
                generation: generation)
            return
        }
        guard attachedGeneration == generation else { return }
        switch message {
        case .ping(let id):
            send(ServerMessage(type: "pong", fields: id.map { [("id", $0)] } ?? []))
        case .cancel(let id):
            if let canceller = state.withLock({ $0.inFlight[id]?.canceller }) {
                canceller.fire()
            } else {
                // It names the cancel's `id` with `op: "cancel"`: a client tells it from a request's final
                // message (which never has `op: "cancel"`) and learns which cancel found nothing.
                reject(ErrorCode.unknownRequest, "no request with id \"\(id)\" is in flight", id: id, op: "cancel")
            }
        case .ack(let seq):
            if let error = acknowledge(seq) { reject(ErrorCode.badRequest, error, id: nil, op: "ack") }
        case .resume:
            reject(ErrorCode.badRequest, "resume must be the first message of a connection", id: nil, op: "resume")
        case .request:
            break  // started above, its generation checked when it is admitted
        }
    }

    private func startRequest(
        type: String, id: String?, preparation: RequestPreparation, timeout: Duration?, generation: UInt64
    ) {
        let descriptor: OperationDescriptor
        let prepared: PreparedOperation
        switch preparation {
        case .ready(let operationDescriptor, let operation):
            descriptor = operationDescriptor
            prepared = operation
        case .refused(let code, let message):
            guard attachedGeneration == generation else { return }
            reject(code, message, id: id, op: type)
            return
        }
        let now = clock.now()
        // A request without an id gets one that no request in flight has (rare: clients name theirs).
        let requestID = id ?? state.withLock { state in
            var serverID: String
            repeat {
                serverID = "srv-\(state.nextServerID)"
                state.nextServerID += 1
            } while state.inFlight[serverID] != nil
            return serverID
        }
        let runToken = nextRunToken.add(1, ordering: .relaxed).oldValue
        // The run is made before it is admitted: the session keeps it as the request's canceller (no object
        // more per request). One that is refused is dropped unstarted.
        let run = makeRun(
            type: type, requestID: requestID, runToken: runToken, descriptor: descriptor, prepared: prepared,
            startedAt: now, timeout: timeout)
        let admitted = state.withLock { state -> Bool in
            // From a connection that is no longer the session's (or an ended session): dropped, as
            // ``handle(_:preparation:generation:)`` drops any other message.
            guard case .attached(_, let current) = state.phase, current == generation else { return false }
            func refuse(_ code: String, _ message: String) -> Bool {
                metrics.requestRejected(code: code)
                enqueueLocked(&state, .error(code: code, message: message, id: requestID, op: type), opType: nil)
                return false
            }
            if state.inFlight[requestID] != nil {
                return refuse(ErrorCode.duplicateID, "a request with id \"\(requestID)\" is already in flight")
            }
            if state.inFlight.count >= settings.maxInFlightPerConnection {
                return refuse(
                    ErrorCode.overloaded,
                    "too many requests in flight on this connection (limit \(settings.maxInFlightPerConnection))")
            }
            switch limiter.tryAcquire() {
            case nil: break
            case .full?:
                return refuse(ErrorCode.overloaded, "too many requests in flight on the server (limit \(limiter.limit))")
            case .shuttingDown?:
                return refuse(ErrorCode.overloaded, "the server is shutting down and takes no new requests")
            }
            state.inFlight[requestID] = InFlight(runToken: runToken, descriptor: descriptor, startedAt: now, canceller: run)
            metrics.operationStarted(type)
            return true
        }
        guard admitted else { return }
        run.start()
    }

    /// A request's run, not started. An operation belongs to the session, not to the connection: it
    /// outlives a dropped connection (its session's `end()` cancels it). Its handler runs on the handler
    /// executor, never on the session's executor (a loop's) nor the cooperative pool; its deadline is a
    /// timer entry.
    private func makeRun(
        type: String, requestID: String, runToken: UInt64, descriptor: OperationDescriptor,
        prepared: PreparedOperation, startedAt: Duration, timeout: Duration?
    ) -> RequestRun {
        let effective = min(descriptor.timeout, timeout ?? descriptor.timeout)
        let quiet = settings.progressQuietPeriod
        let channel = RequestChannel(
            destination: .session(self, runToken: runToken, descriptor: descriptor), stages: descriptor.stages,
            progressInterval: settings.progressInterval, quietUntil: quiet > .zero ? startedAt + quiet : nil, clock: clock,
            sessionLogger: logger,
            requestID: requestID, messageType: type)
        // The context is made in place (a local would be copied into the runner: a dozen references).
        return OperationRunner(
            descriptor: descriptor, channel: channel,
            context: OperationContext(
                sessionID: self.id, requestID: requestID, messageType: type,
                deadline: OperationDeadline(timeout: effective, endsAt: startedAt + effective, clock: clock),
                sessionLogger: logger, services: services, channel: channel),
            clock: clock, startedAt: startedAt, handlerExecutor: settings.handlerExecutor,
            metrics: metrics
        ).prepareRun(prepared)
    }

    /// Compares two secrets in time that depends on their lengths only.
    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }

    private static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var text = ""
        for _ in 0..<count {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text
    }
}
