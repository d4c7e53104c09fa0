/// The router's WebSocket endpoint: one ``RouterSession`` per connection.
///
/// `connectionOpened` (called on the event loop) creates the session, queues its `welcome`, and
/// returns a receiver that only enqueues: messages are handled by the session's task, which
/// ``run()`` starts. **The host must keep `run()` running** (e.g. as a child of its task group)
/// for as long as the endpoint serves; cancelling it cancels every session and request.
///
/// ```swift
/// let service = RouterService(router: router, settings: settings, services: services)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await service.run() }
///     group.addTask { try await server.run(services: ["/ws/memory": service]) }
/// }
/// ```
public final class RouterService: WebSocketService {
    private struct PendingSession: Sendable {
        let session: RouterSession
        let inbox: SessionInbox
        let executor: (any TaskExecutor)?
    }

    public let router: Router
    public let settings: RouterSettings
    public let metrics: OperationMetrics
    public let services: ServiceRegistry
    public let logger: Logger
    let limiter: InFlightLimiter
    let clock: OperationClock
    private let pending: AsyncStream<PendingSession>
    private let pendingContinuation: AsyncStream<PendingSession>.Continuation

    public init(
        router: Router, settings: RouterSettings = RouterSettings(), services: ServiceRegistry = ServiceRegistry(),
        metrics: OperationMetrics = OperationMetrics(), logger: Logger = Logger(label: "router")
    ) {
        self.router = router
        self.settings = settings
        self.services = services
        self.metrics = metrics
        self.logger = logger
        self.limiter = InFlightLimiter(limit: settings.maxInFlightTotal)
        self.clock = OperationClock(settings.clock)
        (pending, pendingContinuation) = AsyncStream.makeStream(of: PendingSession.self)
    }

    /// Requests in flight across all sessions.
    public var inFlightTotal: Int { limiter.current }

    public func connectionOpened(_ connection: any OutboundMessageSink, request: UpgradeRequest) -> any WebSocketReceiver {
        let session = RouterSession(
            router: router, settings: settings, sink: connection, request: request, services: services, metrics: metrics,
            limiter: limiter, logger: logger, clock: clock)
        metrics.connectionOpened()
        session.sendWelcome()
        let inbox = SessionInbox()
        pendingContinuation.yield(PendingSession(session: session, inbox: inbox, executor: connection.preferredExecutor))
        logger.debug("connection opened", metadata: ["session.id": session.id, "peer": request.remoteAddress])
        return SessionReceiver(inbox: inbox, limit: settings.maxQueuedInboundMessages, sink: connection)
    }

    /// Ends ``run()``: sessions still running are cancelled. Called after the transport has stopped.
    public func stop() {
        pendingContinuation.finish()
    }

    /// Runs every session's task until cancelled or ``stop()`` (call once).
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await next in pending {
                // The session's own work (parse, dispatch, replies) runs on the connection's loop executor;
                // its requests run on the global one.
                group.addTask(executorPreference: next.executor) { await next.session.run(next.inbox) }
            }
            group.cancelAll()
        }
    }
}

/// Enqueues a connection's messages for its session; never does work on the loop thread.
private final class SessionReceiver: WebSocketReceiver {
    let inbox: SessionInbox
    let limit: Int
    let sink: any OutboundMessageSink

    init(inbox: SessionInbox, limit: Int, sink: any OutboundMessageSink) {
        self.inbox = inbox
        self.limit = limit
        self.sink = sink
    }

    func received(_ message: WebSocketMessage) {
        guard inbox.push(message, limit: limit) else {
            sink.close(code: .policyViolation, reason: "too many unprocessed messages")
            return
        }
    }

    func receivedBatchEnd() {
        inbox.wake()
    }

    func closed(code: CloseCode) {
        inbox.finish(code: code)
    }
}
