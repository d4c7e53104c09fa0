/// The configuration's keys, their types, ranges and cross-field rules.
enum ConfigurationSchema {
    static let sections = ["server", "heartbeat", "progress", "compression", "limits", "resume", "auth", "memory", "logging", "shutdown", "plugins"]
    static let positive = 1...Int.max
    static let nonNegative = 0...Int.max
    /// The largest frame or message limit: 1 GiB. Far above any real message, and low enough that sizes
    /// computed from it (header plus length, buffers) cannot overflow.
    static let maxPayloadBytes = 1 << 30

    static func read(_ tree: JSONValue, knownPlugins: [String], reader: inout ConfigurationReader) -> RouterConfiguration {
        var configuration = RouterConfiguration()
        guard let root = reader.object(tree, at: "", known: sections) else { return configuration }

        let serverKeys = ["host", "port", "path", "echoPath", "allowedOrigins", "eventLoops", "handshakeTimeoutMs", "closeTimeoutMs", "staticDirectory", "batchScheduling"]
        if let server = reader.object(root["server"], at: "server", known: serverKeys) {
            var s = configuration.server
            s.host = reader.string(server, "host", at: "server") ?? s.host
            s.port = reader.int(server, "port", at: "server", default: s.port, range: 0...65535)
            s.path = readPath(server, "path", reader: &reader) ?? s.path
            s.echoPath = readPath(server, "echoPath", reader: &reader)
            s.allowedOrigins = reader.strings(server, "allowedOrigins", at: "server") ?? []
            s.eventLoops = reader.int(server, "eventLoops", at: "server", default: 0, range: 0...256)
            s.handshakeTimeoutMs = reader.int(server, "handshakeTimeoutMs", at: "server", default: s.handshakeTimeoutMs, range: positive)
            s.closeTimeoutMs = reader.int(server, "closeTimeoutMs", at: "server", default: s.closeTimeoutMs, range: positive)
            s.staticDirectory = reader.string(server, "staticDirectory", at: "server")
            s.batchScheduling = reader.bool(server, "batchScheduling", at: "server", default: false)
            if s.host.isEmpty { reader.report("server.host", "must not be empty") }
            if let echo = s.echoPath, echo == s.path { reader.report("server.echoPath", "must differ from server.path (\(s.path))") }
            configuration.server = s
        }

        if let heartbeat = reader.object(root["heartbeat"], at: "heartbeat", known: ["intervalMs", "timeoutMs"]) {
            configuration.heartbeat.intervalMs = reader.int(heartbeat, "intervalMs", at: "heartbeat", default: 25_000, range: positive)
            configuration.heartbeat.timeoutMs = reader.int(heartbeat, "timeoutMs", at: "heartbeat", default: 20_000, range: positive)
        }

        if let progress = reader.object(root["progress"], at: "progress", known: ["intervalMs", "quietMs"]) {
            configuration.progress.intervalMs = reader.int(progress, "intervalMs", at: "progress", default: 100, range: nonNegative)
            configuration.progress.quietMs = reader.int(progress, "quietMs", at: "progress", default: 100, range: nonNegative)
        }

        if let compression = reader.object(root["compression"], at: "compression", known: ["permessageDeflate", "thresholdBytes", "level"]) {
            configuration.compression.permessageDeflate = reader.bool(compression, "permessageDeflate", at: "compression", default: true)
            configuration.compression.thresholdBytes = reader.int(compression, "thresholdBytes", at: "compression", default: 10_240, range: nonNegative)
            configuration.compression.level = reader.int(compression, "level", at: "compression", default: 6, range: 0...9)
        }

        let limitKeys = ["maxFrameBytes", "maxMessageBytes", "maxHeaderBytes", "maxInFlightPerConnection", "maxInFlightTotal", "maxConnections", "maxConnectionsPerAddress", "maxReadBytesPerIteration", "writeHighWaterBytes", "writeLowWaterBytes", "slowConsumerTimeoutMs", "maxQueuedInboundMessages", "maxQueuedInboundBytes", "messagesPerSecond", "messageBurst"]
        if let limits = reader.object(root["limits"], at: "limits", known: limitKeys) {
            var l = configuration.limits
            l.maxFrameBytes = reader.int(limits, "maxFrameBytes", at: "limits", default: l.maxFrameBytes, range: 125...maxPayloadBytes)
            l.maxMessageBytes = reader.int(limits, "maxMessageBytes", at: "limits", default: l.maxMessageBytes, range: 1...maxPayloadBytes)
            l.maxHeaderBytes = reader.int(limits, "maxHeaderBytes", at: "limits", default: l.maxHeaderBytes, range: 512...1 << 20)
            l.maxInFlightPerConnection = reader.int(limits, "maxInFlightPerConnection", at: "limits", default: l.maxInFlightPerConnection, range: positive)
            l.maxInFlightTotal = reader.int(limits, "maxInFlightTotal", at: "limits", default: l.maxInFlightTotal, range: positive)
            l.maxConnections = reader.int(limits, "maxConnections", at: "limits", default: l.maxConnections, range: positive)
            l.maxConnectionsPerAddress = reader.int(
                limits, "maxConnectionsPerAddress", at: "limits", default: l.maxConnectionsPerAddress, range: nonNegative)
            l.maxReadBytesPerIteration = reader.int(
                limits, "maxReadBytesPerIteration", at: "limits", default: l.maxReadBytesPerIteration, range: 4096...(64 << 20))
            l.writeHighWaterBytes = reader.int(limits, "writeHighWaterBytes", at: "limits", default: l.writeHighWaterBytes, range: positive)
            l.writeLowWaterBytes = reader.int(limits, "writeLowWaterBytes", at: "limits", default: l.writeLowWaterBytes, range: nonNegative)
            l.slowConsumerTimeoutMs = reader.int(limits, "slowConsumerTimeoutMs", at: "limits", default: l.slowConsumerTimeoutMs, range: positive)
            l.maxQueuedInboundMessages = reader.int(
                limits, "maxQueuedInboundMessages", at: "limits", default: l.maxQueuedInboundMessages, range: positive)
            l.maxQueuedInboundBytes = reader.int(
                limits, "maxQueuedInboundBytes", at: "limits", default: l.maxQueuedInboundBytes, range: 1...maxPayloadBytes)
            l.messagesPerSecond = reader.int(limits, "messagesPerSecond", at: "limits", default: l.messagesPerSecond, range: nonNegative)
            l.messageBurst = reader.int(limits, "messageBurst", at: "limits", default: l.messageBurst, range: positive)
            if l.writeLowWaterBytes >= l.writeHighWaterBytes {
                reader.report("limits.writeLowWaterBytes", "must be < limits.writeHighWaterBytes (\(l.writeHighWaterBytes))")
            }
            if l.maxFrameBytes > l.maxMessageBytes {
                reader.report("limits.maxFrameBytes", "must be <= limits.maxMessageBytes (\(l.maxMessageBytes))")
            }
            configuration.limits = l
        }

        if let resume = reader.object(root["resume"], at: "resume", known: ["windowMs", "bufferMessages", "bufferBytes", "maxDetachedSessions", "maxBufferedBytesTotal"]) {
            configuration.resume.windowMs = reader.int(resume, "windowMs", at: "resume", default: 60_000, range: nonNegative)
            configuration.resume.bufferMessages = reader.int(resume, "bufferMessages", at: "resume", default: 1000, range: nonNegative)
            configuration.resume.bufferBytes = reader.int(resume, "bufferBytes", at: "resume", default: 8 << 20, range: nonNegative)
            configuration.resume.maxDetachedSessions = reader.int(
                resume, "maxDetachedSessions", at: "resume", default: 10_000, range: nonNegative)
            configuration.resume.maxBufferedBytesTotal = reader.int(
                resume, "maxBufferedBytesTotal", at: "resume", default: 256 << 20, range: nonNegative)
        }

        if let auth = reader.object(root["auth"], at: "auth", known: ["token", "protectMetrics"]) {
            configuration.auth.token = reader.string(auth, "token", at: "auth")
            configuration.auth.protectMetrics = reader.bool(auth, "protectMetrics", at: "auth", default: true)
            if configuration.auth.token?.isEmpty == true { reader.report("auth.token", "must not be empty (omit it to disable authentication)") }
        }

        let memoryKeys = [
            "dataDirectory", "fsync", "fsyncIntervalMs", "embeddingDimension", "loadSamples", "compaction",
            "compactionDeadPercent", "compactionMinBytes", "backend", "redis",
        ]
        if let memory = reader.object(root["memory"], at: "memory", known: memoryKeys) {
            configuration.memory.dataDirectory = reader.string(memory, "dataDirectory", at: "memory")
            configuration.memory.fsync = reader.choice(memory, "fsync", at: "memory", default: "always", allowed: ["always", "interval", "never"])
            configuration.memory.fsyncIntervalMs = reader.int(memory, "fsyncIntervalMs", at: "memory", default: 1000, range: positive)
            configuration.memory.embeddingDimension = reader.optionalInt(memory, "embeddingDimension", at: "memory", range: 1...65536)
            configuration.memory.loadSamples = reader.bool(memory, "loadSamples", at: "memory", default: true)
            configuration.memory.compaction = reader.bool(memory, "compaction", at: "memory", default: true)
            configuration.memory.compactionDeadPercent = reader.int(
                memory, "compactionDeadPercent", at: "memory", default: 50, range: 1...100)
            configuration.memory.compactionMinBytes = reader.int(
                memory, "compactionMinBytes", at: "memory", default: 1 << 20, range: 0...Int.max)
            configuration.memory.backend = reader.choice(memory, "backend", at: "memory", default: "local", allowed: ["local", "redis"])
            let redisKeys = [
                "url", "passwordEnv", "stream", "connectTimeoutMs", "commandTimeoutMs", "waitReplicas", "snapshotIntervalMs",
                "snapshotMinEntries", "snapshotLockTtlMs",
            ]
            if let redis = reader.object(memory["redis"], at: "memory.redis", known: redisKeys) {
                var settings = RouterConfiguration.Memory.Redis()
                settings.url = reader.string(redis, "url", at: "memory.redis")
                if let url = settings.url, !url.hasPrefix("redis://") {
                    reader.report("memory.redis.url", "must start with redis:// (redis://[:password@]host:port/db)")
                }
                settings.passwordEnv = reader.string(redis, "passwordEnv", at: "memory.redis")
                settings.stream = reader.string(redis, "stream", at: "memory.redis") ?? settings.stream
                if settings.stream.isEmpty { reader.report("memory.redis.stream", "must not be empty") }
                settings.connectTimeoutMs = reader.int(redis, "connectTimeoutMs", at: "memory.redis", default: 2000, range: positive)
                settings.commandTimeoutMs = reader.int(redis, "commandTimeoutMs", at: "memory.redis", default: 2000, range: positive)
                settings.waitReplicas = reader.int(redis, "waitReplicas", at: "memory.redis", default: 0, range: 0...100)
                settings.snapshotIntervalMs = reader.int(
                    redis, "snapshotIntervalMs", at: "memory.redis", default: 60_000, range: positive)
                settings.snapshotMinEntries = reader.int(
                    redis, "snapshotMinEntries", at: "memory.redis", default: 10_000, range: 2...Int.max)
                settings.snapshotLockTtlMs = reader.int(
                    redis, "snapshotLockTtlMs", at: "memory.redis", default: 120_000, range: positive)
                configuration.memory.redis = settings
            }
            if configuration.memory.backend == "redis" {
                if configuration.memory.redis.url == nil {
                    reader.report("memory.redis.url", "is required with memory.backend \"redis\"")
                }
                if configuration.memory.dataDirectory != nil {
                    reader.report("memory.dataDirectory", "must be absent with memory.backend \"redis\" (Redis holds the memories)")
                }
            }
        }

        if let logging = reader.object(root["logging"], at: "logging", known: ["level", "format"]) {
            configuration.logging.level = reader.choice(
                logging, "level", at: "logging", default: "info", allowed: ["trace", "debug", "info", "notice", "warning", "error"])
            configuration.logging.format = reader.choice(logging, "format", at: "logging", default: "text", allowed: ["text", "json"])
        }

        if let shutdown = reader.object(root["shutdown"], at: "shutdown", known: ["graceMs"]) {
            configuration.shutdown.graceMs = reader.int(shutdown, "graceMs", at: "shutdown", default: 10_000, range: nonNegative)
        }

        if let plugins = root["plugins"], plugins != .null {
            configuration.plugins = readPlugins(plugins, knownPlugins: knownPlugins, reader: &reader)
        }
        return configuration
    }

    private static func readPath(_ members: [String: JSONValue], _ key: String, reader: inout ConfigurationReader) -> String? {
        guard let path = reader.string(members, key, at: "server") else { return nil }
        guard path.hasPrefix("/") else {
            reader.report("server.\(key)", "must start with \"/\", found \"\(path)\"")
            return nil
        }
        return path
    }

    private static func readPlugins(_ value: JSONValue, knownPlugins: [String], reader: inout ConfigurationReader) -> [PluginEntry] {
        guard case .array(let items) = value else {
            reader.report("plugins", "expected array, found \(ConfigurationReader.describe(value))")
            return []
        }
        var entries: [PluginEntry] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let path = "plugins[\(index)]"
            let isExternal = item["command"] != nil
            let known = isExternal
                ? ["name", "command", "messageTypes", "timeoutMs", "env", "restart"]
                : ["name", "enabled", "timeoutMs", "options"]
            guard let members = reader.object(item, at: path, known: known) else {
                if item == .null { reader.report(path, "expected object, found null") }
                continue
            }
            guard let name = reader.string(members, "name", at: path) else {
                if members["name"] == nil { reader.report("\(path).name", "missing (every plugin needs a name)") }
                continue
            }
            if !seen.insert(name).inserted { reader.report("\(path).name", "duplicate plugin name \"\(name)\"") }
            let timeout = reader.optionalInt(members, "timeoutMs", at: path, range: positive)
            if isExternal {
                let command = reader.strings(members, "command", at: path) ?? []
                if members["command"] != nil, command.isEmpty { reader.report("\(path).command", "must not be empty") }
                let types = reader.strings(members, "messageTypes", at: path) ?? []
                if types.isEmpty { reader.report("\(path).messageTypes", "must list at least one message type") }
                var env: [String: String] = [:]
                if let envValue = members["env"] {
                    if case .object(let pairs) = envValue {
                        for (key, value) in pairs.sorted(by: { $0.key < $1.key }) {
                            if case .string(let text) = value { env[key] = text } else {
                                reader.report("\(path).env.\(key)", "expected string, found \(ConfigurationReader.describe(value))")
                            }
                        }
                    } else {
                        reader.report("\(path).env", "expected object, found \(ConfigurationReader.describe(envValue))")
                    }
                }
                let restart = reader.bool(members, "restart", at: path, default: true)
                entries.append(.external(ExternalPluginEntry(
                    name: name, command: command, messageTypes: types, timeoutMs: timeout, env: env, restart: restart)))
            } else {
                if !knownPlugins.contains(name) {
                    let known = knownPlugins.map { "\($0)" }.joined(separator: ", ")
                    if let suggestion = Suggestion.nearest(name, in: knownPlugins) {
                        reader.report("\(path).name", "unknown plugin \"\(name)\" (did you mean \"\(suggestion)\"? known: \(known))")
                    } else {
                        reader.report("\(path).name", "unknown plugin \"\(name)\" (known: \(known); external plugins need \"command\")")
                    }
                }
                let enabled = reader.bool(members, "enabled", at: path, default: true)
                var options: JSONValue = .object([:])
                if let value = members["options"] {
                    if case .object = value { options = value } else {
                        reader.report("\(path).options", "expected object, found \(ConfigurationReader.describe(value))")
                    }
                }
                entries.append(.builtIn(BuiltInPluginEntry(name: name, enabled: enabled, timeoutMs: timeout, options: options)))
            }
        }
        return entries
    }
}
