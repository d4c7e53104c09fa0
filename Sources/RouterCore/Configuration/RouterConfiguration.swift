package import Foundation

/// The host's configuration (DESIGN §7), loaded from JSON. Every key has a default: a missing section
/// takes its defaults, and `{"server": {"port": 9000}}` is a complete configuration. Durations are
/// integers in milliseconds (`…Ms`). See CONFIG.md for every key.
package struct RouterConfiguration: Sendable, Equatable {
    package struct Server: Sendable, Equatable {
        package var host = "127.0.0.1"
        package var port = 8765
        /// The router's WebSocket path.
        package var path = "/ws/memory"
        /// A raw echo endpoint for conformance and benchmarks; nil disables it.
        package var echoPath: String?
        /// Origins allowed besides the server's own (same-origin); `"*"` allows any.
        package var allowedOrigins: [String] = []
        /// Event-loop threads; 0 = one per available core.
        package var eventLoops = 0
        package var handshakeTimeoutMs = 10_000
        package var closeTimeoutMs = 5_000
        /// Serve the dashboard from this directory instead of the embedded copy.
        package var staticDirectory: String?
        /// Event loops under Linux's `SCHED_BATCH`: more throughput on cores the router has to itself, more
        /// latency on cores it shares with busy processes (see ``ThreadScheduling``).
        package var batchScheduling = false
    }

    package struct Heartbeat: Sendable, Equatable {
        package var intervalMs = 25_000
        package var timeoutMs = 20_000
    }

    package struct Compression: Sendable, Equatable {
        /// Negotiate permessage-deflate (RFC 7692) with clients that offer it.
        package var permessageDeflate = true
        /// Messages at least this large are compressed (deflate) or wrapped in the gzip+base64 envelope.
        package var thresholdBytes = 10_240
        /// zlib level 0–9.
        package var level = 6
    }

    package struct Limits: Sendable, Equatable {
        package var maxFrameBytes = 16 << 20
        package var maxMessageBytes = 16 << 20
        package var maxHeaderBytes = 8192
        package var maxInFlightPerConnection = 16
        package var maxInFlightTotal = 1024
        package var maxConnections = 10_000
        /// Connections from one client IP; 0 = no limit.
        package var maxConnectionsPerAddress = 256
        /// Bytes one connection may read per event-loop iteration before the others are served.
        package var maxReadBytesPerIteration = 1 << 20
        package var writeHighWaterBytes = 4 << 20
        package var writeLowWaterBytes = 1 << 20
        package var slowConsumerTimeoutMs = 30_000
        /// Inbound messages waiting for a connection's session before the connection stops reading.
        package var maxQueuedInboundMessages = 1024
        /// The same bound in bytes (after decompression).
        package var maxQueuedInboundBytes = 4 << 20
        /// Messages per second per connection (token bucket); 0 = no limit.
        package var messagesPerSecond = 50_000
        /// The bucket's size: a burst this large passes at once.
        package var messageBurst = 20_000
    }

    package struct Resume: Sendable, Equatable {
        package var windowMs = 60_000
        package var bufferMessages = 1000
        package var bufferBytes = 8 << 20
        package var maxDetachedSessions = 10_000
        package var maxBufferedBytesTotal = 256 << 20
    }

    package struct Auth: Sendable, Equatable {
        /// Bearer token required to open a WebSocket; nil disables authentication.
        package var token: String?
        /// With a token, `GET /metrics` requires it too (operation names and counts are not public).
        package var protectMetrics = true
    }

    package struct Memory: Sendable, Equatable {
        /// Durable store directory; nil keeps memories in memory (with the sample set).
        package var dataDirectory: String?
        /// "always" | "interval" | "never".
        package var fsync = "always"
        package var fsyncIntervalMs = 1000
        package var embeddingDimension: Int?
        /// Load the bundled sample memories into a store that never held data (never into a data directory
        /// that already has a log).
        package var loadSamples = true
        /// Compact the log in the background when enough of it is dead.
        package var compaction = true
        /// Percentage of the log (1–100) that superseded and deleted records must reach to start a compaction.
        package var compactionDeadPercent = 50
        /// Logs smaller than this (bytes) are never compacted automatically.
        package var compactionMinBytes = 1 << 20
        /// `"local"` (this process's store and log, the default) or `"redis"` (a corpus shared by several hosts
        /// through a Redis Stream; see ``Redis``).
        package var backend = "local"
        /// Settings of the `"redis"` backend (`memory.redis`).
        package var redis = Redis()

        /// `memory.redis`: where the shared stream lives and how to reach it (DEPLOY.md).
        package struct Redis: Sendable, Equatable {
            /// `redis://[[user]:password@]host[:port][/db]`; required with `backend: "redis"`.
            package var url: String?
            /// An environment variable holding the password (wins over one in `url`).
            package var passwordEnv: String?
            /// The stream of writes; snapshot keys are `<stream>:snapshot…`.
            package var stream = "memories"
            package var connectTimeoutMs = 2000
            package var commandTimeoutMs = 2000
            /// Replicas that must acknowledge a write (`WAIT`) before `index_complete`.
            package var waitReplicas = 0
            /// How often a host checks whether a snapshot is due.
            package var snapshotIntervalMs = 60_000
            /// Stream length (batches) from which a snapshot is written and the stream trimmed behind it.
            package var snapshotMinEntries = 10_000
            /// Expiry of the snapshot lock.
            package var snapshotLockTtlMs = 120_000

            /// The defaults (no `url`: required with `backend: "redis"`).
            package init() {}
        }
    }

    package struct Logging: Sendable, Equatable {
        /// trace, debug, info, notice, warning, error.
        package var level = "info"
        /// "text" | "json".
        package var format = "text"
    }

    /// How often a request's progress reaches its client (DESIGN §4).
    package struct Progress: Sendable, Equatable {
        /// Minimum time between two progress messages of one request (stage changes excepted).
        package var intervalMs = 100
        /// Progress is held this long after a request starts: a request that ends sooner sends only its result.
        package var quietMs = 100
    }

    package struct Shutdown: Sendable, Equatable {
        package var graceMs = 10_000
    }

    package var server = Server()
    package var heartbeat = Heartbeat()
    package var progress = Progress()
    package var compression = Compression()
    package var limits = Limits()
    package var resume = Resume()
    package var auth = Auth()
    package var memory = Memory()
    package var logging = Logging()
    package var shutdown = Shutdown()
    /// nil: every built-in plugin, enabled, with its defaults.
    package var plugins: [PluginEntry]?

    package init() {}

    /// All defaults: what `router-host` runs with no `--config`.
    package static let embeddedDefault = RouterConfiguration()

    /// Parses and validates JSON text, reporting every problem at once.
    package static func load(json data: Data, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
        let tree: JSONValue
        do {
            tree = try JSONParser.parse(Array(data))
        } catch {
            return .failure(ConfigurationErrors([ConfigurationIssue(path: "", reason: "invalid JSON: \(error)")]))
        }
        return load(tree: tree, knownPlugins: knownPlugins)
    }

    /// Reads a file; an unreadable file or invalid JSON is reported like any other issue.
    package static func load(file path: String, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
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
    package static func load(tree: JSONValue, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
        var reader = ConfigurationReader()
        let configuration = ConfigurationSchema.read(tree, knownPlugins: knownPlugins, reader: &reader)
        return reader.issues.isEmpty ? .success(configuration) : .failure(ConfigurationErrors(reader.issues))
    }
}

/// One entry of `plugins`: a built-in plugin by name, or an external process plugin (one with `command`).
package enum PluginEntry: Sendable, Equatable {
    case builtIn(BuiltInPluginEntry)
    case external(ExternalPluginEntry)

    package var name: String {
        switch self {
        case .builtIn(let entry): entry.name
        case .external(let entry): entry.name
        }
    }
}

package struct BuiltInPluginEntry: Sendable, Equatable {
    package var name: String
    package var enabled = true
    /// Overrides the operations' declared timeout.
    package var timeoutMs: Int?
    /// The plugin's own options object.
    package var options: JSONValue = .object([:])

    package init(name: String, enabled: Bool = true, timeoutMs: Int? = nil, options: JSONValue = .object([:])) {
        self.name = name
        self.enabled = enabled
        self.timeoutMs = timeoutMs
        self.options = options
    }
}

package struct ExternalPluginEntry: Sendable, Equatable {
    package var name: String
    /// The program and its arguments.
    package var command: [String]
    /// The operations the process serves (it confirms them in its `describe` answer).
    package var messageTypes: [String]
    package var timeoutMs: Int?
    package var env: [String: String] = [:]
    /// Restart the process (with backoff) after it exits.
    package var restart = true

    package init(name: String, command: [String], messageTypes: [String], timeoutMs: Int? = nil, env: [String: String] = [:], restart: Bool = true) {
        self.name = name
        self.command = command
        self.messageTypes = messageTypes
        self.timeoutMs = timeoutMs
        self.env = env
        self.restart = restart
    }
}
