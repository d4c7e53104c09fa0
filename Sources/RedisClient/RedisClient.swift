import Foundation

/// An async Redis client whose blocking socket work runs on its own thread, so awaiting a command never
/// blocks an event loop or a cooperative-pool thread (the same rule as the router's `ThreadPoolExecutor`
/// and the Swift client's `BlockingWorker`).
///
/// Requests are served in submission order on one connection (``ReconnectingConnection``: reconnects with
/// backoff, and fails at once with ``RedisError/unavailable(lastError:retryIn:)`` while Redis is away).
/// ``pipeline(_:timeout:)`` sends a batch in one round trip. Commands that block the connection on the server
/// (`XREAD BLOCK`, `WAIT`) hold the worker for their duration: give them their own client.
///
/// ```swift
/// let redis = RedisClient(RedisConfiguration(endpoint: try RedisEndpoint(url: "redis://127.0.0.1:6379/0")))
/// let id = try await redis.send(RedisCommand("XADD", "memories", "*", "b", "…")).string
/// ```
public final class RedisClient: Sendable {
    private final class Worker: @unchecked Sendable {
        // `condition` guards `jobs` and `stopped`; `link` is touched only by the worker thread.
        let condition = NSCondition()
        var jobs: [(ReconnectingConnection) -> Void] = []
        var stopped = false
        let link: ReconnectingConnection

        init(_ configuration: RedisConfiguration) { link = ReconnectingConnection(configuration) }

        func run() {
            while true {
                condition.lock()
                while jobs.isEmpty && !stopped { condition.wait() }
                let batch = jobs
                jobs.removeAll()
                let done = stopped
                condition.unlock()
                for job in batch { job(link) }
                if done && batch.isEmpty {
                    link.disconnect()
                    return
                }
            }
        }

        func submit(_ job: @escaping (ReconnectingConnection) -> Void) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !stopped else { return false }
            jobs.append(job)
            condition.signal()
            return true
        }
    }

    /// The connection settings.
    public let configuration: RedisConfiguration
    private let worker: Worker

    /// Starts the client's thread (named `name`); nothing connects until the first command.
    public init(_ configuration: RedisConfiguration, name: String = "redis-client") {
        self.configuration = configuration
        worker = Worker(configuration)
        let thread = Thread { [worker] in worker.run() }
        thread.name = name
        thread.start()
    }

    /// Sends `commands` in one round trip; replies in order, error replies as values.
    /// - Throws: ``RedisError`` for link failures (timeout, lost connection, unavailable) and `.closed`.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async throws(RedisError) -> [RESPValue] {
        let result: Result<[RESPValue], RedisError> = await withCheckedContinuation { continuation in
            let queued = worker.submit { link in
                do throws(RedisError) {
                    continuation.resume(returning: .success(try link.pipeline(commands, timeout: timeout)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !queued { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    /// One command; an error reply throws ``RedisError/server(_:)``.
    public func send(_ command: RedisCommand, timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        try await pipeline([command], timeout: timeout)[0].checked()
    }

    /// Runs `body` on the client's thread with its connection (several dependent commands without other
    /// requests in between). `body` must not block on anything but Redis.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (ReconnectingConnection) throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        let result: Result<T, RedisError> = await withCheckedContinuation { continuation in
            let queued = worker.submit { link in
                do throws(RedisError) {
                    continuation.resume(returning: .success(try body(link)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !queued { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    /// Redis is known to be reachable again: a later command connects at once rather than failing until the
    /// connection's backoff ends (``ReconnectingConnection/retryNow()``, queued behind earlier commands).
    public func retryNow() {
        _ = worker.submit { link in link.retryNow() }
    }

    /// Finishes the queued commands, closes the connection and ends the thread; later calls throw `.closed`.
    public func close() {
        worker.condition.lock()
        worker.stopped = true
        worker.condition.signal()
        worker.condition.unlock()
    }
}
