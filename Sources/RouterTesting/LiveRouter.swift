package import RouterCore

/// Runs a real ``RouterServer`` on `127.0.0.1:0` for end-to-end tests: real sockets, real zlib.
///
/// ```swift
/// try await LiveRouter.with(router) { server in
///     let client = try WebSocketClient.connect(port: server.port, path: "/ws/memory")
///     …
/// }
/// ```
package enum LiveRouter {
    /// Starts the server, runs `body`, then shuts down (in-flight operations get `grace`).
    package static func with<R>(
        _ router: Router,
        services: ServiceRegistry = ServiceRegistry(),
        grace: Duration = .milliseconds(200),
        configure: (inout TransportConfiguration, inout RouterSettings) -> Void = { _, _ in },
        _ body: (RouterServer) async throws -> R
    ) async throws -> R {
        var transport = TransportConfiguration()
        transport.host = "127.0.0.1"
        transport.port = 0
        transport.eventLoops = 2
        var settings = RouterSettings()
        configure(&transport, &settings)
        let server = try RouterServer.start(router: router, transport: transport, settings: settings, services: services)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask(executorPreference: server.service.settings.controlExecutor) { await server.run() }
            do {
                let result = try await body(server)
                await server.shutdown(grace: grace, closeTimeout: .milliseconds(500))
                try await group.waitForAll()
                return result
            } catch {
                await server.shutdown(grace: .zero, closeTimeout: .milliseconds(200))
                group.cancelAll()
                throw error
            }
        }
    }
}
