public import Foundation

/// The host's configuration (DESIGN §7), loaded from JSON. Every key has a default: a missing section
/// takes its defaults, and `{"server": {"port": 9000}}` is a complete configuration. Durations are
/// integers in milliseconds (`…Ms`). See CONFIG.md for every key.
public struct RouterConfiguration: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8765
        /// The router's WebSocket path.
        public var path = "/ws/memory"
        /// A raw echo endpoint for conformance and benchmarks; nil disables it.
        public var echoPath: String?
        /// Origins allowed besides the server's own (same-origin); `"*"` allows any.
        public var allowedOrigins: [String] = []
        /// Event-loop threads; 0 = one per available core.
        public var eventLoops = 0
        public var handshakeTimeoutMs = 10_000
        public var closeTimeoutMs = 5_000
        /// Serve the dashboard from this directory instead of the embedded copy.
        public var staticDirectory: String?
    }

    public struct Heartbeat: Sendable, Equatable {
        public var intervalMs = 25_000
        public var timeoutMs = 20_000
    }

    public struct Compression: Sendable, Equatable {
        /// Negotiate permessage-deflate (RFC 7692) with clients that offer it.
        public var permessageDeflate = true
        /// Messages at least this large are compressed (deflate) or wrapped in the gzip+base64 envelope.
        public var thresholdBytes = 10_240
        /// zlib level 0–9.
        public var level = 6
    }

    public struct Limits: Sendable, Equatable {
        public var maxFrameBytes = 16 << 20
        public var maxMessageBytes = 16 << 20
        public var maxHeaderBytes = 8192
        public var maxInFlightPerConnection = 16
        public var maxInFlightTotal = 1024
        public var maxConnections = 10_000
        /// Connections from one client IP; 0 = no limit.
        public var maxConnectionsPerAddress = 256
        /// Bytes one connection may read per event-loop iteration before the others are served.
        public var maxReadBytesPerIteration = 1 << 20
        public var writeHighWaterBytes = 4 << 20
        public var writeLowWaterBytes = 1 << 20
        public var slowConsumerTimeoutMs = 30_000
        /// Inbound messages waiting for a connection's session before the connection stops reading.
        public var maxQueuedInboundMessages = 1024
        /// The same bound in bytes (after decompression).
        public var maxQueuedInboundBytes = 4 << 20
        /// Messages per second per connection (token bucket); 0 = no limit.
        public var messagesPerSecond = 50_000
        /// The bucket's size: a burst this large passes at once.
        public var messageBurst = 20_000
    }

    public struct Resume: Sendable, Equatable {
        public var windowMs = 60_000
        public var bufferMessages = 1000
        public var bufferBytes = 8 << 20
        public var maxDetachedSessions = 10_000
        public var maxBufferedBytesTotal = 256 << 20
    }

    public struct Auth: Sendable, Equatable {
        /// Bearer token required to open a WebSocket; nil disables authentication.
        public var token: String?
        /// With a token, `GET /metrics` requires it too (operation names and counts are not public).
        public var protectMetrics = true
    }

    public struct Memory: Sendable, Equatable {
        /// Durable store directory; nil keeps memories in memory (with the sample set).
        public var dataDirectory: String?
        /// "always" | "interval" | "never".
        public var fsync = "always"
        public var fsyncIntervalMs = 1000
        public var embeddingDimension: Int?
        /// Load the bundled sample memories into a store that never held data (never into a data directory
        /// that already has a log).
        public var loadSamples = true
        /// Compact the log in the background when enough of it is dead.
        public var compaction = true
        /// Percentage of the log (1–100) that superseded and deleted records must reach to start a compaction.
        public var compactionDeadPercent = 50
        /// Logs smaller than this (bytes) are never compacted automatically.
        public var compactionMinBytes = 1 << 20
        /// `"local"` (this process's store and log, the default) or `"redis"` (a corpus shared by several hosts
        /// through a Redis Stream; see ``Redis``).
        public var backend = "local"
        /// Settings of the `"redis"` backend (`memory.redis`).
        public var redis = Redis()

        /// `memory.redis`: where the shared stream lives and how to reach it (DEPLOY.md).
        public struct Redis: Sendable, Equatable {
            /// `redis://[[user]:password@]host[:port][/db]`; required with `backend: "redis"`.
            public var url: String?
            /// An environment variable holding the password (wins over one in `url`).
            public var passwordEnv: String?
            /// The stream of writes; snapshot keys are `<stream>:snapshot…`.
            public var stream = "memories"
            public var connectTimeoutMs = 2000
            public var commandTimeoutMs = 2000
            /// Replicas that must acknowledge a write (`WAIT`) before `index_complete`.
            public var waitReplicas = 0
            /// How often a host checks whether a snapshot is due.
            public var snapshotIntervalMs = 60_000
            /// Stream length (batches) from which a snapshot is written and the stream trimmed behind it.
            public var snapshotMinEntries = 10_000
            /// Expiry of the snapshot lock.
            public var snapshotLockTtlMs = 120_000

            /// The defaults (no `url`: required with `backend: "redis"`).
            public init() {}
        }
    }

    public struct Logging: Sendable, Equatable {
        /// trace, debug, info, notice, warning, error.
        public var level = "info"
        /// "text" | "json".
        public var format = "text"
    }

    /// How often a request's progress reaches its client (DESIGN §4).
    public struct Progress: Sendable, Equatable {
        /// Minimum time between two progress messages of one request (stage changes excepted).
        public var intervalMs = 100
        /// Progress is held this long after a request starts: a request that ends sooner sends only its result.
        public var quietMs = 100
    }

    public struct Shutdown: Sendable, Equatable {
        public var graceMs = 10_000
    }

    public var server = Server()
    public var heartbeat = Heartbeat()
    public var progress = Progress()
    public var compression = Compression()
    public var limits = Limits()
    public var resume = Resume()
    public var auth = Auth()
    public var memory = Memory()
    public var logging = Logging()
    public var shutdown = Shutdown()
    /// nil: every built-in plugin, enabled, with its defaults.
    public var plugins: [PluginEntry]?

    public init() {}

    /// All defaults: what `router-host` runs with no `--config`.
    public static let embeddedDefault = RouterConfiguration()

    /// Parses and validates JSON text, reporting every problem at once.
    public static func load(json data: Data, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
        let tree: JSONValue
        do {
            tree = try JSONParser.parse(Array(data))
        } catch {
            return .failure(ConfigurationErrors([ConfigurationIssue(path: "", reason: "invalid JSON: \(error)")]))
        }
        return load(tree: tree, knownPlugins: knownPlugins)
    }

    /// Reads a file; an unreadable file or invalid JSON is reported like any other issue.
    public static func load(file path: String, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ConfigurationErrors([ConfigurationIssue(path: "", reason: "cannot read config file \(path)")]))
        }
        return load(json: data, knownPlugins: knownPlugins).mapError { errors in
            ConfigurationErrors(errors.issues.map { issue in
                issue.path.isEmpty ? ConfigurationIssue(path: "", reason: "\(path): \(issue.reason)") : issue
            })
        }
    }

    /// Validates a parsed tree.
    public static func load(tree: JSONValue, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
        var reader = ConfigurationReader()
        let configuration = ConfigurationSchema.read(tree, knownPlugins: knownPlugins, reader: &reader)
        return reader.issues.isEmpty ? .success(configuration) : .failure(ConfigurationErrors(reader.issues))
    }
}

/// One entry of `plugins`: a built-in plugin by name, or an external process plugin (one with `command`).
public enum PluginEntry: Sendable, Equatable {
    case builtIn(BuiltInPluginEntry)
    case external(ExternalPluginEntry)

    public var name: String {
        switch self {
        case .builtIn(let entry): entry.name
        case .external(let entry): entry.name
        }
    }
}

public struct BuiltInPluginEntry: Sendable, Equatable {
    public var name: String
    public var enabled = true
    /// Overrides the operations' declared timeout.
    public var timeoutMs: Int?
    /// The plugin's own options object.
    public var options: JSONValue = .object([:])

    public init(name: String, enabled: Bool = true, timeoutMs: Int? = nil, options: JSONValue = .object([:])) {
        self.name = name
        self.enabled = enabled
        self.timeoutMs = timeoutMs
        self.options = options
    }
}

public struct ExternalPluginEntry: Sendable, Equatable {
    public var name: String
    /// The program and its arguments.
    public var command: [String]
    /// The operations the process serves (it confirms them in its `describe` answer).
    public var messageTypes: [String]
    public var timeoutMs: Int?
    public var env: [String: String] = [:]
    /// Restart the process (with backoff) after it exits.
    public var restart = true

    public init(name: String, command: [String], messageTypes: [String], timeoutMs: Int? = nil, env: [String: String] = [:], restart: Bool = true) {
        self.name = name
        self.command = command
        self.messageTypes = messageTypes
        self.timeoutMs = timeoutMs
        self.env = env
        self.restart = restart
    }
}
