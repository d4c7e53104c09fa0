import Foundation
import MemoryStore
import RedisClient
import RedisMemory
import RouterCore

/// The host's wiring of the Redis memory backend (`memory.backend: "redis"`, DEPLOY.md): builds the
/// ``RedisMemoryBackend`` from `memory.redis`, registers its store (for searches) and itself as the
/// ``MemoryWriter`` (for `memory_index`), logs its events, exports its gauges on `/metrics`, and reports
/// `degraded` on `/healthz` while Redis is away.
enum RedisBackendServices {
    /// How long start-up waits for the first synchronization before serving degraded (and catching up later).
    static let initialSyncTimeout: Duration = .seconds(30)

    static func settings(_ configuration: RouterConfiguration.Memory.Redis) throws -> RedisMemorySettings {
        let endpoint: RedisEndpoint
        do {
            endpoint = try RedisEndpoint(
                url: configuration.url ?? "", passwordEnvironment: configuration.passwordEnv,
                environment: ProcessInfo.processInfo.environment)
        } catch {
            throw HostStartupError(description: "memory.redis.url: \(error)")
        }
        let connection = RedisConfiguration(
            endpoint: endpoint, connectTimeout: .milliseconds(configuration.connectTimeoutMs),
            commandTimeout: .milliseconds(configuration.commandTimeoutMs))
        return RedisMemorySettings(
            connection: connection, stream: configuration.stream, waitReplicas: configuration.waitReplicas,
            snapshotInterval: .milliseconds(configuration.snapshotIntervalMs),
            snapshotMinEntries: configuration.snapshotMinEntries,
            snapshotLockTTL: .milliseconds(configuration.snapshotLockTtlMs))
    }

    /// Starts the backend and returns the services plugins see; waits for the first synchronization (snapshot
    /// plus stream) up to ``initialSyncTimeout``, else starts degraded.
    static func make(_ configuration: RouterConfiguration, logger: Logger, metrics: OperationMetrics) async throws
        -> (ServiceRegistry, MemoryStore)
    {
        let settings = try settings(configuration.memory.redis)
        let backend = RedisMemoryBackend(settings: settings, dimension: configuration.memory.embeddingDimension) { event in
            log(event, logger: logger)
        }
        let address = settings.connection.endpoint.address
        logger.info("memory store: Redis stream \"\(settings.stream)\" at \(address) (db \(settings.connection.endpoint.database))")
        let clock = ContinuousClock()
        let started = clock.now
        if await backend.start(initialSyncTimeout: initialSyncTimeout) {
            logger.info(
                "memory store synchronized with Redis: \(backend.store.count) entries in \(started.duration(to: clock.now))")
        } else {
            logger.warning(
                "memory store not synchronized with Redis after \(initialSyncTimeout): serving degraded (\(backend.degradedReason ?? "?")); catching up in the background")
        }
        metrics.addCollector { render(backend.status) }
        var services = ServiceRegistry()
        services.register(backend.store)
        services.register(backend, as: (any MemoryWriter).self)
        services.register(backend)
        return (services, backend.store)
    }

    /// `/healthz`'s degraded reason, when the registry holds a Redis backend.
    static func degradedReason(_ services: ServiceRegistry) -> (@Sendable () -> String?)? {
        guard let backend = services.get(RedisMemoryBackend.self) else { return nil }
        return { backend.degradedReason.map { "memory backend: \($0)" } }
    }

    /// Stops tailing and snapshotting (after the router stopped).
    static func stop(_ services: ServiceRegistry) async {
        await services.get(RedisMemoryBackend.self)?.stop()
    }

    static func log(_ event: RedisMemoryBackend.Event, logger: Logger) {
        switch event {
        case .connected: logger.info("memory backend: connected to Redis")
        case .disconnected(let reason): logger.warning("memory backend: Redis unreachable, serving degraded: \(reason)")
        case .caughtUp(let batches, let lastID): logger.info("memory backend: caught up to stream id \(lastID) (\(batches) batches applied)")
        case .snapshotLoaded(let entries, let lastID, let seconds):
            logger.info("memory backend: snapshot loaded: \(entries) entries up to \(lastID) in \(String(format: "%.3f", seconds)) s")
        case .snapshotWritten(let entries, let lastID, let trimmed, let seconds):
            logger.info(
                "memory backend: snapshot written: \(entries) entries up to \(lastID), \(trimmed) stream entries trimmed, \(String(format: "%.3f", seconds)) s")
        case .failure(let message): logger.error("memory backend: \(message)")
        case .applied: break
        }
    }

    /// The backend's gauges in Prometheus text.
    static func render(_ status: RedisMemoryBackend.Status) -> String {
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("memory_redis_connected", "gauge", "1 while the stream tailer is connected to Redis.", status.connected ? "1" : "0")
        metric(
            "memory_redis_stream_lag_seconds", "gauge",
            "Age of the newest stream entry not yet applied here (0 when caught up; last known while disconnected).",
            String(status.lagSeconds))
        metric(
            "memory_redis_disconnected_seconds", "gauge", "How long the tailer has been disconnected (0 when connected).",
            String(status.disconnectedSince.map { RedisMemoryBackend.seconds($0.duration(to: .now)) } ?? 0))
        metric("memory_redis_stream_length", "gauge", "Entries (batches) in the stream when last asked.", "\(status.streamLength)")
        metric("memory_redis_applied_batches_total", "counter", "Stream entries applied here.", "\(status.appliedBatches)")
        metric("memory_redis_writes_total", "counter", "memory_index batches acknowledged by Redis.", "\(status.writes)")
        metric("memory_redis_write_failures_total", "counter", "memory_index batches refused (Redis away).", "\(status.writeFailures)")
        metric("memory_redis_snapshots_written_total", "counter", "Snapshots this host wrote.", "\(status.snapshotsWritten)")
        metric("memory_redis_snapshots_loaded_total", "counter", "Snapshots this host loaded.", "\(status.snapshotsLoaded)")
        return text
    }
}
