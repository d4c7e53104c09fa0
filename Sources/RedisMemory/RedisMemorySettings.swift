public import RedisClient

/// How a host shares its memories through Redis (config `memory.backend: "redis"`, `memory.redis`).
public struct RedisMemorySettings: Sendable, Equatable {
    /// Connection, timeouts and backoff.
    public var connection: RedisConfiguration
    /// The stream holding every write (`memory.redis.stream`); snapshot keys are `<stream>:snapshot…`.
    public var stream: String
    /// Replicas that must have a write (`WAIT`) before it is acknowledged; 0 = the primary's acknowledgement.
    public var waitReplicas: Int
    /// How often a host checks whether a snapshot is due.
    public var snapshotInterval: Duration
    /// A snapshot is written once the stream holds at least this many entries (batches).
    public var snapshotMinEntries: Int
    /// Expiry of the snapshot lock: a host that dies while writing a snapshot blocks others at most this long.
    public var snapshotLockTTL: Duration
    /// Largest value written per snapshot key (the snapshot is split into chunks).
    public var snapshotChunkBytes: Int
    /// Longest `XREAD BLOCK` wait; bounds how stale the lag figures get on an idle stream.
    public var blockTimeout: Duration

    public init(
        connection: RedisConfiguration, stream: String = "memories", waitReplicas: Int = 0,
        snapshotInterval: Duration = .seconds(60), snapshotMinEntries: Int = 10_000,
        snapshotLockTTL: Duration = .seconds(120), snapshotChunkBytes: Int = 4 << 20, blockTimeout: Duration = .seconds(1)
    ) {
        self.connection = connection
        self.stream = stream
        self.waitReplicas = waitReplicas
        self.snapshotInterval = snapshotInterval
        self.snapshotMinEntries = snapshotMinEntries
        self.snapshotLockTTL = snapshotLockTTL
        self.snapshotChunkBytes = snapshotChunkBytes
        self.blockTimeout = blockTimeout
    }

    /// The key holding the current snapshot's manifest.
    public var metaKey: String { "\(stream):snapshot" }
    /// The key of the snapshot lock (`SET NX PX`).
    public var lockKey: String { "\(stream):snapshot-lock" }
    /// The key of one snapshot chunk.
    public func chunkKey(generation: String, index: Int) -> String { "\(stream):snapshot:\(generation):\(index)" }
}
