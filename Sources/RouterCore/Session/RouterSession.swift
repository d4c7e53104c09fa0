/// One client's session: its id and token, the `seq` counter, and its in-flight requests.
///
/// Every server message is queued to the sink under the session's lock, right after `seq` is
/// incremented, so `seq` order is wire order. A request's final event removes it from the
/// in-flight map under that same lock, so nothing can follow a request's final message.
/// (Resume, a later issue, will keep `seq` and the session across reconnects.)
public final class RouterSession: Sendable {
    public let id: String
    /// Secret the client presents with `resume`.
    public let token: String

    private struct InFlight {
        let runToken: UInt64
        let descriptor: OperationDescriptor
        let startedAt: Duration
        let signal: CancelSignal
    }

    private struct State {
        var seq: UInt64 = 0
        var inFlight: [String: InFlight] = [:]
        var nextServerID = 1
        var nextRunToken: UInt64 = 1
        var closed = false
    }

    let router: Router
    let settings: RouterSettings
    let sink: any OutboundMessageSink
    let services: ServiceRegistry
    let metrics: OperationMetrics
    let limiter: InFlightLimiter
    let logger: Logger
    let clock: OperationClock
    /// Set when this client asked for `?compress=gzip` and the transport does not deflate.
    private let gzip: (@Sendable ([UInt8]) -> [UInt8])?
    private let state = Locked(State())

    init(
        router: Router, settings: RouterSettings, sink: any OutboundMessageSink, request: UpgradeRequest,
        services: ServiceRegistry, metrics: OperationMetrics, limiter: InFlightLimiter, logger: Logger, clock: OperationClock
    ) {
        self.id = "s-" + Self.randomHex(bytes: 8)
        self.token = Self.randomHex(bytes: 16)
        self.router = router
        self.settings = settings
        self.sink = sink
        self.services = services
        self.metrics = metrics
        self.limiter = limiter
        var logger = logger
        logger[metadataKey: "session.id"] = id
        self.logger = logger
        self.clock = clock
        let wantsGzip = request.query["compress"]?.lowercased() == "gzip"
        self.gzip = wantsGzip && !sink.usesPerMessageDeflate ? settings.gzip : nil
    }

    /// The `seq` of the last message queued.
    public var lastSeq: UInt64 { state.withLock { $0.seq } }
    /// Requests of this session that have not sent their final message.
    public var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    // MARK: Sending

    private func enqueueLocked(_ state: inout State, _ message: ServerMessage, opType: String?) {
        state.seq += 1
        var bytes = message.encoded(seq: state.seq)
        if let gzip, bytes.count > settings.compressionThreshold {
            bytes = message.gzipEnvelope(seq: state.seq, json: bytes, gzip: gzip)
        }
        if let opType { metrics.bytesSent(opType, count: bytes.count) }
        sink.sendText(bytes)
    }

    func send(_ message: ServerMessage, opType: String? = nil) {
        state.withLock { enqueueLocked(&$0, message, opType: opType) }
    }

    private func reject(_ code: String, _ message: String, id: String?, op: String?) {
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
        let compression = sink.usesPerMessageDeflate ? "permessage-deflate" : (gzip != nil ? "gzip+base64" : "none")
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
                ]))
    }

    /// Delivers one event of the request `requestID` run `runToken`; false once it has ended.
    fileprivate func deliver(_ event: OperationEvent, requestID: String, runToken: UInt64) -> Bool {
        let now = clock.now()
        var finished: (type: String, outcome: OperationMetrics.Outcome, duration: Duration)?
        let delivered = state.withLock { state in
            guard let entry = state.inFlight[requestID], entry.runToken == runToken else { return false }
            let type = entry.descriptor.messageType
            let outcome: OperationMetrics.Outcome? =
                switch event {
                case .failure(_, _, let outcome): outcome
                case .complete: .completed
                default: nil
                }
            if let outcome {
                finishLocked(&state, requestID: requestID, entry: entry, outcome: outcome, now: now)
                finished = (type, outcome, now - entry.startedAt)
            }
            enqueueLocked(&state, .event(event, id: requestID, descriptor: entry.descriptor), opType: type)
            return true
        }
        // One line per operation, written after the lock is released.
        if let finished {
            var metadata: Logger.Metadata = [
                "op.id": requestID, "op.type": finished.type, "outcome": finished.outcome.rawValue,
                "duration.ms": "\(finished.duration.roundedMilliseconds)",
            ]
            if case .failure(let code, _, _) = event { metadata["error.code"] = code }
            let level: Logger.Level = finished.outcome == .failed || finished.outcome == .timedOut ? .notice : .info
            logger.log(level, "operation finished", metadata: metadata)
        }
        return delivered
    }

    private func finishLocked(_ state: inout State, requestID: String, entry: InFlight, outcome: OperationMetrics.Outcome, now: Duration) {
        state.inFlight[requestID] = nil
        limiter.release()
        metrics.operationFinished(entry.descriptor.messageType, outcome: outcome, duration: now - entry.startedAt)
    }

    // MARK: Receiving

    /// Consumes the connection's messages until it closes; requests run as child tasks.
    func run(_ inbox: SessionInbox) async {
        await withDiscardingTaskGroup { group in
            while let batch = await inbox.nextBatch() {
                for input in batch {
                    switch input {
                    case .message(.text(let bytes)):
                        handleText(bytes, group: &group)
                    case .message(.binary):
                        reject(ErrorCode.badRequest, "binary messages are not supported on this endpoint", id: nil, op: nil)
                    case .closed:
                        break
                    }
                }
            }
            connectionClosed()
        }
    }

    /// Marks the session closed and cancels its in-flight requests (each still ends with one final event).
    func connectionClosed() {
        let signals = state.withLock { state -> [CancelSignal]? in
            guard !state.closed else { return nil }
            state.closed = true
            return state.inFlight.values.map(\.signal)
        }
        guard let signals else { return }
        metrics.connectionClosed()
        logger.debug("connection closed", metadata: ["inFlight": "\(signals.count)"])
        for signal in signals { signal.fire() }
    }

    private func handleText(_ bytes: [UInt8], group: inout DiscardingTaskGroup) {
        switch ClientMessage.parse(bytes) {
        case .failure(let invalid):
            reject(ErrorCode.badRequest, invalid.message, id: invalid.id, op: invalid.op)
        case .success(.ping(let id)):
            send(ServerMessage(type: "pong", fields: id.map { [("id", $0)] } ?? []))
        case .success(.cancel(let id)):
            if let signal = state.withLock({ $0.inFlight[id]?.signal }) {
                signal.fire()
            } else {
                // No `id` member: the request's one final message (if it ever existed) stays its last message.
                reject(ErrorCode.unknownRequest, "no request with id \"\(id)\" is in flight", id: nil, op: "cancel")
            }
        case .success(.resume):
            send(ServerMessage(type: "resume_failed", fields: [("reason", .string("resume is not supported yet"))]))
        case .success(.request(let type, let id, let data, let timeout)):
            startRequest(type: type, id: id, data: data, timeout: timeout, group: &group)
        }
    }

    private enum Admission {
        case run(requestID: String, runToken: UInt64, startedAt: Duration, signal: CancelSignal)
        case rejected
    }

    private func startRequest(type: String, id: String?, data: JSONValue, timeout: Duration?, group: inout DiscardingTaskGroup) {
        guard let operation = router.operation(for: type) else {
            reject(ErrorCode.unknownOperation, "unknown operation \"\(type)\"", id: id, op: type)
            return
        }
        let prepared: PreparedOperation
        do {
            prepared = try operation.prepare(data: data)
        } catch {
            let (code, message) = RequestDecoding.codeAndMessage(for: error)
            reject(code, message, id: id, op: type)
            return
        }
        let descriptor = operation.descriptor
        let now = clock.now()
        let admission = state.withLock { state -> Admission in
            guard !state.closed else { return .rejected }
            var requestID: String
            if let id {
                requestID = id
            } else {
                repeat {
                    requestID = "srv-\(state.nextServerID)"
                    state.nextServerID += 1
                } while state.inFlight[requestID] != nil
            }
            func refuse(_ code: String, _ message: String) -> Admission {
                metrics.requestRejected(code: code)
                enqueueLocked(&state, .error(code: code, message: message, id: requestID, op: type), opType: nil)
                return .rejected
            }
            if state.inFlight[requestID] != nil {
                return refuse(ErrorCode.duplicateID, "a request with id \"\(requestID)\" is already in flight")
            }
            if state.inFlight.count >= settings.maxInFlightPerConnection {
                return refuse(
                    ErrorCode.overloaded,
                    "too many requests in flight on this connection (limit \(settings.maxInFlightPerConnection))")
            }
            guard limiter.tryAcquire() else {
                return refuse(ErrorCode.overloaded, "too many requests in flight on the server (limit \(limiter.limit))")
            }
            let runToken = state.nextRunToken
            state.nextRunToken += 1
            let signal = CancelSignal()
            state.inFlight[requestID] = InFlight(runToken: runToken, descriptor: descriptor, startedAt: now, signal: signal)
            metrics.operationStarted(type)
            return .run(requestID: requestID, runToken: runToken, startedAt: now, signal: signal)
        }
        guard case .run(let requestID, let runToken, let startedAt, let signal) = admission else { return }
        let effective = min(descriptor.timeout, timeout ?? descriptor.timeout)
        // Handlers never run on the session's executor (a loop's, shared by its connections).
        group.addTask(executorPreference: globalConcurrentExecutor) {
            var logger = self.logger
            logger[metadataKey: "op.id"] = requestID
            logger[metadataKey: "op.type"] = type
            let target = SessionRequestTarget(session: self, requestID: requestID, runToken: runToken)
            let channel = RequestChannel(
                target: target, stages: descriptor.stages, progressInterval: self.settings.progressInterval,
                clock: self.clock, logger: logger)
            let context = OperationContext(
                sessionID: self.id, requestID: requestID, messageType: type,
                deadline: OperationDeadline(timeout: effective, endsAt: startedAt + effective, clock: self.clock),
                logger: logger, services: self.services, channel: channel)
            await OperationRunner(
                descriptor: descriptor, channel: channel, context: context, clock: self.clock, startedAt: startedAt,
                cancelSignal: signal
            ).run(prepared)
        }
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

/// Routes one request's events into its session.
private struct SessionRequestTarget: OperationEventTarget {
    let session: RouterSession
    let requestID: String
    let runToken: UInt64

    func deliver(_ event: OperationEvent) -> Bool {
        session.deliver(event, requestID: requestID, runToken: runToken)
    }

    func waitUntilWritable() async -> Bool {
        await session.sink.waitUntilWritable()
    }
}
