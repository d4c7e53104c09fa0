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
        let inbound: AsyncStream<SessionInput>
        let backlog: InboundBacklog
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
        let (inbound, continuation) = AsyncStream.makeStream(of: SessionInput.self)
        let backlog = InboundBacklog()
        pendingContinuation.yield(PendingSession(session: session, inbound: inbound, backlog: backlog))
        logger.debug("connection opened", metadata: ["session.id": session.id, "peer": request.remoteAddress])
        return SessionReceiver(
            continuation: continuation, backlog: backlog, limit: settings.maxQueuedInboundMessages, sink: connection)
    }

    /// Ends ``run()``: sessions still running are cancelled. Called after the transport has stopped.
    public func stop() {
        pendingContinuation.finish()
    }

    /// Runs every session's task until cancelled or ``stop()`` (call once).
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await next in pending {
                group.addTask { await next.session.run(next.inbound, backlog: next.backlog) }
            }
            group.cancelAll()
        }
    }
}

/// Enqueues a connection's messages for its session; never does work on the loop thread.
private final class SessionReceiver: WebSocketReceiver {
    let continuation: AsyncStream<SessionInput>.Continuation
    let backlog: InboundBacklog
    let limit: Int
    let sink: any OutboundMessageSink

    init(continuation: AsyncStream<SessionInput>.Continuation, backlog: InboundBacklog, limit: Int, sink: any OutboundMessageSink) {
        self.continuation = continuation
        self.backlog = backlog
        self.limit = limit
        self.sink = sink
    }

    func received(_ message: WebSocketMessage) {
        guard backlog.add() <= limit else {
            backlog.remove()
            sink.close(code: .policyViolation, reason: "too many unprocessed messages")
            return
        }
        continuation.yield(.message(message))
    }

    func closed(code: CloseCode) {
        continuation.yield(.closed(code))
        continuation.finish()
    }
}

/// Messages received but not yet handled by a session's task (incremented on the loop, decremented by the task).
final class InboundBacklog: Sendable {
    private let count = Locked(0)

    /// Counts one more message and returns the new backlog.
    func add() -> Int { count.withLock { $0 += 1; return $0 } }
    func remove() { count.withLock { $0 -= 1 } }
    var current: Int { count.withLock { $0 } }
}
