extension RouterConfiguration {
    /// The transport settings this configuration asks for (services and the HTTP responder are added by the caller).
    package func transportConfiguration() -> TransportConfiguration {
        var transport = TransportConfiguration()
        transport.host = server.host
        transport.port = server.port
        transport.eventLoops = server.eventLoops
        transport.batchScheduling = server.batchScheduling
        transport.echoPath = server.echoPath
        transport.handshakeTimeout = .milliseconds(server.handshakeTimeoutMs)
        transport.closeTimeout = .milliseconds(server.closeTimeoutMs)
        transport.maxHeaderBytes = limits.maxHeaderBytes
        transport.maxFrameBytes = limits.maxFrameBytes
        transport.maxMessageBytes = limits.maxMessageBytes
        transport.maxConnections = limits.maxConnections
        transport.maxConnectionsPerAddress = limits.maxConnectionsPerAddress
        transport.maxReadBytesPerIteration = limits.maxReadBytesPerIteration
        transport.writeHighWaterBytes = limits.writeHighWaterBytes
        transport.writeLowWaterBytes = limits.writeLowWaterBytes
        transport.slowConsumerTimeout = .milliseconds(limits.slowConsumerTimeoutMs)
        transport.heartbeatInterval = .milliseconds(heartbeat.intervalMs)
        transport.heartbeatTimeout = .milliseconds(heartbeat.timeoutMs)
        transport.handshakePolicy = WebSocketHandshakePolicy(allowedOrigins: server.allowedOrigins, bearerToken: auth.token)
        transport.perMessageDeflate.enabled = compression.permessageDeflate
        transport.perMessageDeflate.threshold = compression.thresholdBytes
        transport.perMessageDeflate.compressionLevel = compression.level
        return transport
    }

    /// The token `GET /metrics` requires: `auth.token` when `auth.protectMetrics` is on.
    package var metricsToken: String? { auth.protectMetrics ? auth.token : nil }

    /// The router settings this configuration asks for.
    package func routerSettings() -> RouterSettings {
        var settings = RouterSettings()
        settings.heartbeatInterval = .milliseconds(heartbeat.intervalMs)
        settings.heartbeatTimeout = .milliseconds(heartbeat.timeoutMs)
        settings.progressInterval = .milliseconds(progress.intervalMs)
        settings.progressQuietPeriod = .milliseconds(progress.quietMs)
        settings.maxMessageBytes = limits.maxMessageBytes
        settings.maxInFlightPerConnection = limits.maxInFlightPerConnection
        settings.maxInFlightTotal = limits.maxInFlightTotal
        settings.compressionThreshold = compression.thresholdBytes
        settings.maxQueuedInboundMessages = limits.maxQueuedInboundMessages
        settings.maxQueuedInboundBytes = limits.maxQueuedInboundBytes
        settings.messagesPerSecond = limits.messagesPerSecond
        settings.messageBurst = limits.messageBurst
        settings.resume = ResumeSettings(
            window: .milliseconds(resume.windowMs), bufferMessages: resume.bufferMessages, bufferBytes: resume.bufferBytes,
            maxDetachedSessions: resume.maxDetachedSessions, maxBufferedBytesTotal: resume.maxBufferedBytesTotal)
        return settings
    }
}

extension RouterConfiguration {
    /// Settings that expose the server more than the defaults do, each as a sentence for the startup log:
    /// `"*"` in `server.allowedOrigins`, and a non-loopback `server.host` without `auth.token`.
    package func exposureWarnings() -> [String] {
        var warnings: [String] = []
        if server.allowedOrigins.contains("*") {
            warnings.append(
                "server.allowedOrigins contains \"*\": any web page the user visits may open a WebSocket to this server")
        }
        let loopback = server.host == "localhost" || server.host == "::1" || server.host.hasPrefix("127.")
        if !loopback, auth.token == nil {
            warnings.append(
                "listening on \(server.host) without auth.token: anyone who can reach this address may read and write memories")
        }
        return warnings
    }
}
