import Synchronization

/// The framework's entry point: the transport serving a ``Router`` on a WebSocket path, with
/// `GET /healthz` and `GET /metrics` on the same port.
///
/// ```swift
/// let router = try RouterBuilder().register(MemorySearchHandler()).build()
/// let server = try RouterServer.start(router: router, transport: transportConfiguration)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask(executorPreference: RouterExecutors.control) { await server.run() }  // see RouterService.run()
///     // … on SIGTERM:
///     await server.shutdown(grace: .seconds(10))
/// }
/// ```
package final class RouterServer: Sendable {
    /// The listening transport (its ``WebSocketServer/port`` is the bound port).
    package let transport: WebSocketServer
    /// The router endpoint.
    package let service: RouterService
    /// The WebSocket path the router is served on.
    package let path: String

    private let box: TransportBox

    private init(transport: WebSocketServer, service: RouterService, path: String, box: TransportBox) {
        self.box = box
        self.transport = transport
        self.service = service
        self.path = path
    }

    /// Binds and starts serving `router` on `path`. Plain HTTP requests go to `/healthz`, `/metrics`,
    /// then `httpResponder` (e.g. the dashboard's static files), else 404. With `metricsToken`,
    /// `/metrics` answers 401 unless the request presents it (`Authorization: Bearer …` or `?token=…`).
    ///
    /// `/healthz` answers 200 `{"status":"ok",…}`; 200 `{"status":"degraded","reason":…}` while `degradedReason`
    /// returns one (e.g. the shared memory backend is unreachable: searches still work, writes fail); and 503
    /// `{"status":"draining",…}` once ``shutdown(grace:closeTimeout:)`` (or ``beginDraining()``) began, so a load
    /// balancer sends no new connections during the grace period.
    package static func start(
        router: Router,
        path: String = "/ws/memory",
        transport configuration: TransportConfiguration,
        settings: RouterSettings = RouterSettings(),
        services: ServiceRegistry = ServiceRegistry(),
        metrics: OperationMetrics = OperationMetrics(),
        logger: Logger = Logger(label: "router"),
        metricsToken: String? = nil,
        httpResponder: (@Sendable (HTTPRequestHead) -> HTTPResponse?)? = nil,
        degradedReason: (@Sendable () -> String?)? = nil
    ) throws(SocketError) -> RouterServer {
        var settings = settings
        if settings.gzip == nil { settings.gzip = { GzipPayload.compress($0) } }
        settings.maxMessageBytes = configuration.maxMessageBytes
        let service = RouterService(router: router, settings: settings, services: services, metrics: metrics, logger: logger)
        var configuration = configuration
        configuration.services[path] = service
        let extra = httpResponder
        let box = TransportBox()
        configuration.httpResponder = { head in
            guard head.method == "GET" || head.method == "HEAD" else {
                return .methodNotAllowed("\(head.method) is not supported here")
            }
            switch head.path {
            case "/healthz":
                let open = box.server?.openConnections ?? 0
                if box.server?.isDraining == true {
                    return .json(status: 503, #"{"status":"draining","connections":\#(open),"inFlight":\#(service.inFlightTotal)}"#)
                }
                if let reason = degradedReason?() {
                    var writer = JSONWriter()
                    writer.writeString(reason)
                    let quoted = String(decoding: writer.bytes, as: UTF8.self)
                    return .json(#"{"status":"degraded","reason":\#(quoted),"connections":\#(open),"inFlight":\#(service.inFlightTotal)}"#)
                }
                return .json(#"{"status":"ok","connections":\#(open),"inFlight":\#(service.inFlightTotal)}"#)
            case "/metrics":
                if let metricsToken, !UpgradeHandshake.presentsToken(head, metricsToken) {
                    return .unauthorized("/metrics requires the bearer token (auth.protectMetrics)")
                }
                var text = metrics.prometheusText()
                if let server = box.server {
                    text += "# HELP router_transport_connections Open WebSocket connections (all endpoints).\n"
                    text += "# TYPE router_transport_connections gauge\n"
                    text += "router_transport_connections \(server.openConnections)\n"
                }
                return .ok(Array(text.utf8), contentType: PrometheusText.contentType)
            default:
                return extra?(head)
            }
        }
        let transport = try WebSocketServer.start(configuration, logger: logger)
        box.server = transport
        return RouterServer(transport: transport, service: service, path: path, box: box)
    }

    /// The bound port.
    package var port: Int { transport.port }

    /// Runs the router's sessions until the task is cancelled or ``shutdown(grace:)`` completes.
    package func run() async {
        await service.run()
    }

    /// Graceful shutdown (DESIGN §6), in three steps:
    ///
    /// 1. **Drain** (``beginDraining()``): the listener stays open; `/healthz` answers 503
    ///    `{"status":"draining",…}` so a load balancer takes the host out of rotation; a WebSocket upgrade is
    ///    refused with 503; a new request on an open connection gets `overloaded` ("the server is shutting
    ///    down and takes no new requests"). Running operations go on and their events reach their clients.
    /// 2. **Wait** until no operation is in flight, or `grace` has passed, whichever comes first. An idle
    ///    server therefore stops at once.
    /// 3. **Close**: the listener closes (new connections are refused), every connection closes with 1001
    ///    (the close handshakes get `closeTimeout`), operations still running are cancelled, and the loops stop.
    package func shutdown(grace: Duration, closeTimeout: Duration = .seconds(2)) async {
        beginDraining()
        let inFlight = service.inFlightTotal
        service.logger.notice(
            "draining: /healthz answers 503, new connections get 503, new requests get overloaded; waiting for "
                + "\(inFlight) operation\(inFlight == 1 ? "" : "s") in flight (grace \(grace.roundedMilliseconds) ms)")
        let idle = await service.waitUntilIdle(atMost: grace)
        let left = service.inFlightTotal
        service.logger.info(
            idle ? "drained: no operation in flight; closing connections"
                : "grace period over with \(left) operation\(left == 1 ? "" : "s") in flight; closing connections (they are cancelled)")
        await transport.shutdown(closeCode: .goingAway, reason: "server shutting down", drainTimeout: closeTimeout)
        service.stop()
    }

    /// The first step of ``shutdown(grace:closeTimeout:)``, on its own: `/healthz` answers 503 `draining`, new
    /// WebSocket upgrades get 503 and new requests `overloaded`, while the listener stays open and running
    /// operations go on. Idempotent; it cannot be undone.
    package func beginDraining() {
        transport.beginDraining()
        service.refuseNewRequests()
    }

    /// Whether draining began (``beginDraining()`` or ``shutdown(grace:closeTimeout:)``).
    package var isDraining: Bool { transport.isDraining }
}

/// Lets the HTTP responder read the transport's counters (and whether it drains) once it exists.
private final class TransportBox: Sendable {
    private let value = Locked<WebSocketServer?>(nil)
    var server: WebSocketServer? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
