/// The router's WebSocket endpoint: a ``RouterSession`` per client, which outlives a dropped
/// connection until it is resumed or expires (DESIGN §6).
///
/// `connectionOpened` (called on the event loop) creates a session, queues its `welcome`, and
/// returns a receiver that only enqueues: messages are handled by the connection's task, which
/// ``run()`` starts, and which a `resume` attaches to an earlier session. **The host must keep
/// `run()` running** (e.g. as a child of its task group) for as long as the endpoint serves; when it
/// ends, every session ends and its requests are cancelled. Start it on the control executor, as below:
/// a task added without a preference needs a cooperative pool thread to begin at all, and CPU-bound work
/// elsewhere in the process can keep that pool busy for seconds (no connection is served meanwhile).
///
/// ```swift
/// let service = RouterService(router: router, settings: settings, services: services)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask(executorPreference: RouterExecutors.control) { await service.run() }
///     group.addTask { try await server.run(services: ["/ws/memory": service]) }
/// }
/// ```
package final class RouterService: WebSocketService {
    package let router: Router
    package let settings: RouterSettings
    package let metrics: OperationMetrics
    package let services: ServiceRegistry
    package let logger: Logger
    let limiter: InFlightLimiter
    let clock: OperationClock
    let registry: SessionRegistry
    private let pending: AsyncStream<PendingConnection>
    private let pendingContinuation: AsyncStream<PendingConnection>.Continuation

    /// A new connection's driver and where it should run.
    private struct PendingConnection: Sendable {
        let driver: ConnectionDriver
        let executor: (any TaskExecutor)?
    }

    package init(
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
        self.registry = SessionRegistry(settings: settings.resume, clock: clock, metrics: metrics)
        (pending, pendingContinuation) = AsyncStream.makeStream(of: PendingConnection.self)
    }

    /// Requests in flight across all sessions.
    package var inFlightTotal: Int { limiter.current }

    /// From now on new requests get `overloaded` (the server is shutting down); running ones go on.
    package func refuseNewRequests() { limiter.refuseNew() }

    /// Returns once no request is in flight (after ``refuseNewRequests()`` the count only falls), or
    /// when `limit` has passed, whichever comes first; true when idle.
    @discardableResult
    package func waitUntilIdle(atMost limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [limiter] in
                await limiter.waitUntilIdleOrCancelled()
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let idle = await group.next() ?? false
            group.cancelAll()
            return idle || limiter.current == 0
        }
    }

    package func connectionOpened(_ connection: any OutboundMessageSink, request: UpgradeRequest) -> any WebSocketReceiver {
        let attachment = RouterSession.attachment(sink: connection, request: request, settings: settings)
        let session = RouterSession(
            router: router, settings: settings, attachment: attachment, services: services, metrics: metrics,
            limiter: limiter, logger: logger, clock: clock)
        registry.register(session)
        metrics.connectionOpened()
        session.sendWelcome()
        let inbox = SessionInbox(
            maxMessages: settings.maxQueuedInboundMessages, maxBytes: settings.maxQueuedInboundBytes,
            resumeReading: { [connection] in connection.resumeReading() })
        let decoder = InboundDecoder(
            router: router, offloadThreshold: settings.offloadDecodingAboveBytes, executor: settings.handlerExecutor)
        var driver = ConnectionDriver(
            greeting: session, attachment: attachment, inbox: inbox, decoder: decoder, registry: registry, metrics: metrics,
            logger: logger)
        driver.messagesPerSecond = settings.messagesPerSecond
        driver.messageBurst = settings.messageBurst
        pendingContinuation.yield(PendingConnection(driver: driver, executor: connection.preferredExecutor))
        logger.debug("connection opened", metadata: ["session.id": session.id, "peer": request.remoteAddress])
        return SessionReceiver(inbox: inbox)
    }

    /// Ends ``run()``: every session ends (its operations are cancelled). Called after the transport has stopped.
    package func stop() {
        pendingContinuation.finish()
    }

    /// Runs every connection's task until cancelled or ``stop()`` (call once); then ends every session
    /// and returns once their operations have finished.
    ///
    /// Runs on the control executor whatever the caller's executor: the loop that starts each new
    /// connection's task never waits for the cooperative pool, which CPU-bound work elsewhere in the
    /// process (or a loaded machine) can keep busy for seconds.
    package func run() async {
        await withTaskExecutorPreference(settings.controlExecutor) {
            await withDiscardingTaskGroup { group in
                for await next in pending {
                    // A connection's own work (parse, dispatch, replies) runs on its loop's executor (or the
                    // control executor); operations run on the control and handler executors.
                    group.addTask(executorPreference: next.executor ?? settings.controlExecutor) { await next.driver.run() }
                }
                group.cancelAll()
            }
            registry.endAll()
            await limiter.waitUntilIdle()
        }
    }
}
/// Enqueues a connection's messages for its session; never does work on the loop thread. When the
/// inbox reaches its bound the transport stops reading; the inbox resumes it once drained.
private final class SessionReceiver: WebSocketReceiver {
    let inbox: SessionInbox
    private(set) var acceptsMoreInput = true

    init(inbox: SessionInbox) {
        self.inbox = inbox
    }

    func received(_ message: WebSocketMessage) {
        acceptsMoreInput = inbox.push(message)
    }

    func readingResumed() {
        acceptsMoreInput = true
    }

    func receivedBatchEnd() {
        inbox.wake()
    }

    func closed(code: CloseCode) {
        inbox.finish(code: code)
    }
}
