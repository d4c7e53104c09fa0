/// Everything the transport needs: where to listen, limits, timeouts, and what to serve.
public struct TransportConfiguration: Sendable {
    /// Address to bind (IPv4 or IPv6 literal, or `localhost`).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks an ephemeral port (see ``WebSocketServer/port``).
    public var port: Int = 8765
    /// Event-loop threads; 0 means one per core.
    public var eventLoops: Int = 0
    /// Request heads above this size are rejected with 431.
    public var maxHeaderBytes: Int = 8192
    /// A connection that has not completed its HTTP request within this time is closed (slowloris).
    public var handshakeTimeout: Duration = .seconds(10)
    /// After our close frame, or after a plain HTTP answer or a rejected handshake, how long to wait for
    /// the peer to close before the connection is reset.
    public var closeTimeout: Duration = .seconds(5)
    /// Frames with a larger payload close the connection with 1009, checked from the frame header.
    public var maxFrameBytes: Int = 16 << 20
    /// Messages larger than this (after decompression) close the connection with 1009.
    public var maxMessageBytes: Int = 16 << 20
    /// Connections beyond this are answered 503 and closed.
    public var maxConnections: Int = 10_000
    /// Connections from one client address (IP, without the port) beyond this are answered 503 and
    /// closed before the request is read; 0 = no limit.
    public var maxConnectionsPerAddress: Int = 256
    /// How many bytes one connection may read in one loop iteration before the loop serves the others.
    public var maxReadBytesPerIteration: Int = 1 << 20
    /// Ping frames are sent this often.
    public var heartbeatInterval: Duration = .seconds(25)
    /// A peer silent for `heartbeatInterval + heartbeatTimeout` is closed with 1001.
    public var heartbeatTimeout: Duration = .seconds(20)
    /// Producers waiting in `waitUntilWritable` suspend above this backlog, and the connection stops
    /// reading from its peer (echo endpoint included) until it falls under ``writeLowWaterBytes``…
    public var writeHighWaterBytes: Int = 4 << 20
    /// …and resume under this one.
    public var writeLowWaterBytes: Int = 1 << 20
    /// A peer whose backlog stays above the high-water mark this long is closed with 1008.
    public var slowConsumerTimeout: Duration = .seconds(30)
    /// Origin allowlist and bearer token for upgrades.
    public var handshakePolicy = WebSocketHandshakePolicy()
    /// permessage-deflate negotiation and the size threshold for compressing outgoing messages.
    public var perMessageDeflate = PerMessageDeflateConfiguration()
    /// WebSocket services by request path (e.g. `/ws/memory`).
    public var services: [String: any WebSocketService] = [:]
    /// A path on which text and binary messages are echoed (conformance and benchmarks), or nil.
    public var echoPath: String?
    /// Answers plain HTTP requests (`/healthz`, `/metrics`, static files); nil or a nil answer gives 404.
    public var httpResponder: (@Sendable (HTTPRequestHead) -> HTTPResponse?)?

    public init() {}
}
