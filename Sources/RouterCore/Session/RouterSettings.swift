/// How sessions outlive their connections (DESIGN §6).
package struct ResumeSettings: Sendable, Equatable {
    /// How long a detached session waits for a `resume` (its operations keep running meanwhile);
    /// zero turns resume off: a dropped connection ends its session.
    package var window: Duration
    /// Messages a session keeps for replay: everything after the client's last `ack`.
    package var bufferMessages: Int
    /// Bytes a session keeps for replay.
    package var bufferBytes: Int
    /// Detached sessions kept at once; past it the one detached longest expires.
    package var maxDetachedSessions: Int
    /// Bytes held in every session's replay buffer together; when a session detaches past it, the
    /// sessions detached longest expire until it holds (attached sessions are never expired for it).
    package var maxBufferedBytesTotal: Int

    package init(
        window: Duration = .seconds(60), bufferMessages: Int = 1000, bufferBytes: Int = 8 << 20,
        maxDetachedSessions: Int = 10_000, maxBufferedBytesTotal: Int = 256 << 20
    ) {
        self.window = window
        self.bufferMessages = bufferMessages
        self.bufferBytes = bufferBytes
        self.maxDetachedSessions = maxDetachedSessions
        self.maxBufferedBytesTotal = maxBufferedBytesTotal
    }

    /// Whether sessions are kept for a resume at all.
    package var isEnabled: Bool { window > .zero && bufferMessages > 0 && bufferBytes > 0 }
}

/// Settings of the router's protocol layer; every default follows DESIGN §4–§6.
package struct RouterSettings: Sendable {
    /// Server ping interval, announced in `welcome` (the transport sends the pings).
    package var heartbeatInterval: Duration
    /// Extra silence tolerated after a missed ping, announced in `welcome`.
    package var heartbeatTimeout: Duration
    /// Largest inbound message (after decompression), announced in `welcome` (the transport enforces it: close 1009).
    package var maxMessageBytes: Int
    /// In-flight requests allowed per connection before `overloaded`.
    package var maxInFlightPerConnection: Int
    /// In-flight requests allowed across all connections before `overloaded`.
    package var maxInFlightTotal: Int
    /// Messages above this many bytes go in the `gzip+base64` envelope to clients that asked
    /// (`?compress=gzip`) and did not negotiate permessage-deflate.
    package var compressionThreshold: Int
    /// Inbound messages a connection may have waiting for its session task: at this many the connection
    /// stops reading its socket until the session has caught up (TCP backpressure holds the client;
    /// nothing is dropped, excess requests get `overloaded` as usual).
    package var maxQueuedInboundMessages: Int
    /// The same bound in bytes, after decompression (the batch being worked on included).
    package var maxQueuedInboundBytes: Int
    /// Messages per second a connection may send on average (token bucket); 0 turns the limit off.
    /// Past it a message is answered `rate_limited`, and a peer that keeps it up is closed with 1008.
    package var messagesPerSecond: Int
    /// How many messages the bucket holds: a burst this large passes at once.
    package var messageBurst: Int
    /// Inbound messages of more bytes than this are parsed and decoded on ``handlerExecutor`` rather than
    /// on the session thread that all connections of an event loop share, so a few MB of JSON from one
    /// client do not delay the small requests of the others (the sending connection's messages keep
    /// their order). `Int.max` decodes everything on the session thread.
    package var offloadDecodingAboveBytes = 64 << 10
    /// Minimum time between two progress events of one request (stage changes excepted).
    package var progressInterval: Duration
    /// Progress of a request is held this long after it starts (DESIGN §4): a request that ends
    /// sooner sends only its final message; a longer one sends its latest progress when the period
    /// ends, then progress as usual. Zero sends progress from the start.
    package var progressQuietPeriod: Duration
    /// Compresses bytes to the gzip format (RFC 1952); nil disables the envelope.
    package var gzip: (@Sendable ([UInt8]) -> [UInt8])?
    /// The clock of timeouts, progress coalescing, `elapsedMs` and the resume window.
    package var clock: any Clock<Duration>
    /// Detached sessions, replay buffers and resume.
    package var resume: ResumeSettings
    /// Where operations' handlers run: threads of their own, never the cooperative pool or a loop.
    package var handlerExecutor: any TaskExecutor = RouterExecutors.handlers
    /// Where the router's own per-request work runs (deadlines, cancellation, final events), and the
    /// sessions of connections without an event loop executor.
    package var controlExecutor: any TaskExecutor = RouterExecutors.control
    /// Test instrumentation, nil in production: called on the producer's thread each time an operation's
    /// output suspends because the session's replay buffer is nearly full (the session is detached, or its
    /// client acknowledges), after it is registered to be woken.
    package var onProducerSuspendedForReplayRoom: (@Sendable () -> Void)?

    package init(
        heartbeatInterval: Duration = .seconds(25),
        heartbeatTimeout: Duration = .seconds(20),
        maxMessageBytes: Int = 1 << 20,
        maxInFlightPerConnection: Int = 16,
        maxInFlightTotal: Int = 1024,
        compressionThreshold: Int = 10 * 1024,
        maxQueuedInboundMessages: Int = 1024,
        maxQueuedInboundBytes: Int = 4 << 20,
        messagesPerSecond: Int = 50_000,
        messageBurst: Int = 20_000,
        progressInterval: Duration = .milliseconds(100),
        progressQuietPeriod: Duration = .milliseconds(100),
        gzip: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        clock: any Clock<Duration> = ContinuousClock(),
        resume: ResumeSettings = ResumeSettings()
    ) {
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.maxMessageBytes = maxMessageBytes
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.maxInFlightTotal = maxInFlightTotal
        self.compressionThreshold = compressionThreshold
        self.maxQueuedInboundMessages = maxQueuedInboundMessages
        self.maxQueuedInboundBytes = maxQueuedInboundBytes
        self.messagesPerSecond = messagesPerSecond
        self.messageBurst = messageBurst
        self.progressInterval = progressInterval
        self.progressQuietPeriod = progressQuietPeriod
        self.gzip = gzip
        self.clock = clock
        self.resume = resume
    }
}
