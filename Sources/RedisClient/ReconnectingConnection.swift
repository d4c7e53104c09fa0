/// Connection settings shared by ``ReconnectingConnection`` and ``RedisClient``.
public struct RedisConfiguration: Sendable, Equatable {
    /// Server, database and credentials.
    public var endpoint: RedisEndpoint
    /// Longest wait for the TCP connection.
    public var connectTimeout: Duration
    /// Longest wait for a command's (or a pipeline's) replies.
    public var commandTimeout: Duration
    /// Delay before reconnecting after the first failure; doubles per failure up to ``maxBackoff``.
    public var initialBackoff: Duration
    /// Longest delay between reconnect attempts.
    public var maxBackoff: Duration

    public init(
        endpoint: RedisEndpoint, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2),
        initialBackoff: Duration = .milliseconds(50), maxBackoff: Duration = .seconds(2)
    ) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

/// A connection that reconnects by itself, with backoff: blocking, for one thread at a time (a
/// ``RedisClient``'s worker, or a dedicated thread such as a stream tailer).
///
/// When not connected, a call connects first if the ``ReconnectBackoff`` allows it, else fails at once with
/// ``RedisError/unavailable(lastError:retryIn:)``. A call on a connection that was idle since its last use and
/// turns out dead (Redis restarted meanwhile) is retried once on a fresh connection: its commands may have
/// been executed twice then, so callers only send commands for which that is harmless (every command here is:
/// a duplicated `XADD` of a batch re-applies idempotent upserts).
public final class ReconnectingConnection {
    public let configuration: RedisConfiguration
    private var connection: RedisConnection?
    private var backoff: ReconnectBackoff
    /// Called after each new connection is made (e.g. to log "connected").
    public var onConnect: ((RedisEndpoint) -> Void)?

    public init(_ configuration: RedisConfiguration) {
        self.configuration = configuration
        self.backoff = ReconnectBackoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
    }

    deinit { connection?.close() }

    /// True while a connection is open.
    public var isConnected: Bool { connection?.isOpen ?? false }

    /// The last connection failure while disconnected.
    public var lastError: String? { backoff.lastError }

    /// Redis is known to be reachable again (another connection got through): while disconnected, the next
    /// call connects at once instead of failing until its backoff ends.
    public func retryNow() {
        guard connection == nil else { return }
        backoff.succeeded()
    }

    /// Sends `commands` as one pipeline; see the type's doc for reconnection.
    /// - Parameter timeout: replaces the configured command timeout (e.g. for `XREAD BLOCK`).
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) throws(RedisError) -> [RESPValue] {
        let timeout = timeout ?? configuration.commandTimeout
        let reused = connection?.isOpen == true
        do {
            return try connected().pipeline(commands, timeout: timeout)
        } catch where reused && Self.isStale(error) {
            connection = nil
        } catch {
            dropAfter(error)
            throw error
        }
        do {
            return try connected().pipeline(commands, timeout: timeout)
        } catch {
            dropAfter(error)
            throw error
        }
    }

    /// One command; an error reply is thrown as ``RedisError/server(_:)``.
    public func send(_ command: RedisCommand, timeout: Duration? = nil) throws(RedisError) -> RESPValue {
        try pipeline([command], timeout: timeout)[0].checked()
    }

    /// Closes the connection; the next call reconnects (backoff permitting).
    public func disconnect() {
        connection?.close()
        connection = nil
    }

    private static func isStale(_ error: RedisError) -> Bool {
        if case .connectionLost = error { return true }
        return false
    }

    private func dropAfter(_ error: RedisError) {
        guard error.isConnectionFailure else { return }
        if case .unavailable = error { return }
        connection?.close()
        connection = nil
        backoff.failed(error.description, now: .now)
    }

    private func connected() throws(RedisError) -> RedisConnection {
        if let connection, connection.isOpen { return connection }
        connection = nil
        switch backoff.decide(now: .now) {
        case .wait(let delay, let lastError):
            throw .unavailable(lastError: lastError, retryIn: delay)
        case .attempt:
            let fresh = try RedisConnection.connect(
                to: configuration.endpoint, connectTimeout: configuration.connectTimeout,
                commandTimeout: configuration.commandTimeout)
            backoff.succeeded()
            connection = fresh
            onConnect?(configuration.endpoint)
            return fresh
        }
    }
}
