/// Where `memory_index` sends writes when the host's memories are not owned by this process alone: the seam
/// between the search plugin and a shared backend (the Redis backend, `memory.backend: "redis"`).
///
/// The host registers one as a service (`services.register(backend, as: (any MemoryWriter).self)`) next to
/// the ``MemoryStore`` that searches read. Without one, `memory_index` writes to the ``MemoryStore`` (its local
/// log) exactly as before.
///
/// Contract: ``write(_:)`` returns only once the backend acknowledged the batch durably (per its own policy)
/// **and** the batch is visible in the registered ``MemoryStore`` (a client reads its own write on the same
/// host). It throws ``MemoryBackendUnavailable`` when the backend cannot take writes now; then the batch was
/// not acknowledged and must not be reported as written.
public protocol MemoryWriter: Sendable {
    /// Writes `entries` (already validated against the store's dimension); see the protocol's contract.
    func write(_ entries: [MemoryEntry]) async throws -> MemoryWriteReceipt
}

/// What a ``MemoryWriter`` promises about an acknowledged batch (the `storage` and `durable` fields of
/// `index_complete`).
public struct MemoryWriteReceipt: Sendable, Equatable {
    /// Where the batch lives, e.g. `"redis"`.
    public var storage: String
    /// True when the backend's persistence covered the batch before the acknowledgement (e.g. Redis with AOF
    /// `appendfsync always`, or `WAIT` reached the configured replicas).
    public var durable: Bool

    public init(storage: String, durable: Bool) {
        self.storage = storage
        self.durable = durable
    }
}

/// The backend cannot take writes now (Redis unreachable, timed out, or refused): the batch was not written.
public struct MemoryBackendUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why, e.g. "cannot connect to Redis at 127.0.0.1:6379: Connection refused".
    public var reason: String

    public init(reason: String) { self.reason = reason }

    /// `memory store unavailable: <reason>`: what `memory_index_error` says.
    public var description: String { "memory store unavailable: \(reason)" }
}
