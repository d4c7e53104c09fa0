/// Runs one connection of the router endpoint: parses its messages and hands them to the session it
/// is attached to: the session that greeted it, or the one a `resume` (its first message) took over.
///
/// Runs as a task on the connection's loop executor, whose thread the loop's other connections share:
/// large messages are decoded elsewhere while the task waits (see ``InboundDecoder``); operations run
/// elsewhere too (see ``RouterSession``).
struct ConnectionDriver: Sendable {
    let greeting: RouterSession
    let attachment: RouterSession.Attachment
    let inbox: SessionInbox
    let decoder: InboundDecoder
    let registry: SessionRegistry
    let metrics: OperationMetrics
    let logger: Logger
    /// Messages per second and burst of the connection's rate limit (0 per second: none).
    var messagesPerSecond = 0
    var messageBurst = 0

    /// Consumes the connection's input until it closes.
    func run() async {
        var session = greeting
        var generation: UInt64 = 1
        var messages = 0
        var closed = false
        var rateLimit = MessageRateLimiter(perSecond: messagesPerSecond, burst: messageBurst, now: .now)
        var rateLimitClosed = false
        var batch: [SessionInput] = []
        while await inbox.nextBatch(into: &batch) {
            let now = ContinuousClock.now
            for input in batch {
                if case .message = input, rateLimit != nil, !rateLimitClosed {
                    switch rateLimit!.take(now: now) {
                    case .accept:
                        break
                    case .refuse:
                        await refuse(input, session: session, generation: generation)
                        continue
                    case .close:
                        rateLimitClosed = true
                        metrics.requestRejected(code: ErrorCode.rateLimited)
                        logger.notice("connection closed for flooding", metadata: ["session.id": "\(session.id)"])
                        session.closeConnection(
                            generation: generation, code: .policyViolation,
                            reason: "rate limit: more than \(messagesPerSecond) messages per second")
                        continue
                    }
                } else if rateLimitClosed, case .message = input {
                    continue
                }
                switch input {
                case .message(.text(let bytes)):
                    messages += 1
                    let decoded = await decoder.decode(bytes)
                    switch decoded.message {
                    case .failure(let invalid):
                        guard session.attachedGeneration == generation else { continue }
                        session.reject(ErrorCode.badRequest, invalid.message, id: invalid.id, op: invalid.op)
                    case .success(.resume(let id, let token, let lastSeq)) where messages == 1:
                        if let resumed = resume(id: id, token: token, lastSeq: lastSeq) {
                            (session, generation) = resumed
                        }
                    case .success(let message):
                        session.handle(message, preparation: decoded.preparation, generation: generation)
                    }
                case .message(.binary):
                    guard session.attachedGeneration == generation else { continue }
                    session.reject(
                        ErrorCode.badRequest, "binary messages are not supported on this endpoint", id: nil, op: nil)
                case .closed(let code):
                    closed = true
                    depart(session, generation: generation, code: code)
                }
            }
        }
        // The task was cancelled before the connection closed: the service is stopping.
        if !closed { depart(session, generation: generation, code: .goingAway) }
        metrics.connectionClosed()
    }

    /// Answers a message over the rate limit with `rate_limited` (naming its request when it is one).
    private func refuse(_ input: SessionInput, session: RouterSession, generation: UInt64) async {
        guard session.attachedGeneration == generation else { return }
        var id: String?
        var op: String?
        if case .message(.text(let bytes)) = input, case .success(.request(let type, let requestID, _, _)) = await decoder.parse(bytes) {
            id = requestID
            op = type
        }
        session.reject(
            ErrorCode.rateLimited,
            "more than \(messagesPerSecond) messages per second (burst \(messageBurst)) on this connection; slow down",
            id: id, op: op)
    }

    private func depart(_ session: RouterSession, generation: UInt64, code: CloseCode) {
        switch session.connectionClosed(generation: generation, code: code) {
        case .detached(let generation): registry.detached(session, generation: generation)
        case .ended: registry.remove(session)
        case .none: break
        }
    }

    /// Tries to attach this connection to session `id`; answers `resume_failed` on the greeting
    /// session otherwise. Returns the session taken over and this connection's generation in it.
    private func resume(id: String, token: String, lastSeq: UInt64) -> (RouterSession, UInt64)? {
        var log = logger
        log[metadataKey: "session.id"] = id
        guard let target = registry.session(id), target !== greeting else {
            let reason = registry.hasExpired(id) ? "expired" : "unknown_session"
            refuse(reason, reason == "expired" ? "session \(id) expired" : "no session \(id) on this server", log: log)
            return nil
        }
        switch target.resume(token: token, lastSeq: lastSeq, attachment: attachment) {
        case .resumed(let generation, let replayed, let inFlight, let tookOver):
            registry.resumed(target)
            // The greeting session had nothing in flight (resume is the first message): it just ends.
            greeting.end()
            registry.remove(greeting)
            log.info(
                "session resumed",
                metadata: [
                    "outcome": "resumed", "lastSeq": "\(lastSeq)", "replayed": "\(replayed)", "inFlight": "\(inFlight)",
                    "tookOver": "\(tookOver)",
                ])
            return (target, generation)
        case .failed(let reason, let message):
            if reason == "gap" || reason == "seq_ahead" || reason == "expired" { registry.remove(target) }
            refuse(reason, message, log: log)
            return nil
        }
    }

    private func refuse(_ reason: String, _ message: String, log: Logger) {
        metrics.resumeFailed(reason: reason)
        log.notice("session resume failed", metadata: ["outcome": "resume_failed", "reason": "\(reason)"])
        greeting.send(ServerMessage(type: "resume_failed", fields: [("reason", .string(reason)), ("message", .string(message))]))
    }
}
