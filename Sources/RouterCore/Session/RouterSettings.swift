/// Settings of the router's protocol layer; every default follows DESIGN §4–§6.
public struct RouterSettings: Sendable {
    /// Server ping interval, announced in `welcome` (the transport sends the pings).
    public var heartbeatInterval: Duration
    /// Extra silence tolerated after a missed ping, announced in `welcome`.
    public var heartbeatTimeout: Duration
    /// Largest inbound message (after decompression), announced in `welcome` (the transport enforces it: close 1009).
    public var maxMessageBytes: Int
    /// In-flight requests allowed per connection before `overloaded`.
    public var maxInFlightPerConnection: Int
    /// In-flight requests allowed across all connections before `overloaded`.
    public var maxInFlightTotal: Int
    /// Messages above this many bytes go in the `gzip+base64` envelope to clients that asked
    /// (`?compress=gzip`) and did not negotiate permessage-deflate.
    public var compressionThreshold: Int
    /// Inbound messages a connection may have waiting for its session task; one more closes it with 1008
    /// (so a client flooding the router cannot grow memory without bound).
    public var maxQueuedInboundMessages: Int
    /// Minimum time between two progress events of one request (stage changes excepted).
    public var progressInterval: Duration
    /// Compresses bytes to the gzip format (RFC 1952); nil disables the envelope.
    public var gzip: (@Sendable ([UInt8]) -> [UInt8])?
    /// The clock of timeouts, progress coalescing and `elapsedMs`.
    public var clock: any Clock<Duration>

    public init(
        heartbeatInterval: Duration = .seconds(25),
        heartbeatTimeout: Duration = .seconds(20),
        maxMessageBytes: Int = 1 << 20,
        maxInFlightPerConnection: Int = 16,
        maxInFlightTotal: Int = 1024,
        compressionThreshold: Int = 10 * 1024,
        maxQueuedInboundMessages: Int = 1024,
        progressInterval: Duration = .milliseconds(100),
        gzip: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.maxMessageBytes = maxMessageBytes
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.maxInFlightTotal = maxInFlightTotal
        self.compressionThreshold = compressionThreshold
        self.maxQueuedInboundMessages = maxQueuedInboundMessages
        self.progressInterval = progressInterval
        self.gzip = gzip
        self.clock = clock
    }
}
