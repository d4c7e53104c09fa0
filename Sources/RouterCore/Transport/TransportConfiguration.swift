/// Everything the transport needs: where to listen, limits, timeouts, and what to serve.
package struct TransportConfiguration: Sendable {
    /// Address to bind (IPv4 or IPv6 literal, or `localhost`).
    package var host: String = "127.0.0.1"
    /// Port to bind; 0 picks an ephemeral port (see ``WebSocketServer/port``).
    package var port: Int = 8765
    /// Event-loop threads; 0 means one per core.
    package var eventLoops: Int = 0
    /// Run the event loops under `SCHED_BATCH` (``ThreadScheduling``); off by default.
    package var batchScheduling = false
    /// Request heads above this size are rejected with 431.
    package var maxHeaderBytes: Int = 8192
    /// A connection that has not completed its HTTP request within this time is closed (slowloris).
    package var handshakeTimeout: Duration = .seconds(10)
    /// After our close frame, or after a plain HTTP answer or a rejected handshake, how long to wait for
    /// the peer to close before the connection is reset.
    package var closeTimeout: Duration = .seconds(5)
    /// Frames with a larger payload close the connection with 1009, checked from the frame header.
    package var maxFrameBytes: Int = 16 << 20
    /// Messages larger than this (after decompression) close the connection with 1009.
    package var maxMessageBytes: Int = 16 << 20
    /// Connections beyond this are answered 503 and closed.
    package var maxConnections: Int = 10_000
    /// Connections from one client address (IP, without the port) beyond this are answered 503 and
    /// closed before the request is read; 0 = no limit.
    package var maxConnectionsPerAddress: Int = 256
    /// How many bytes one connection may read in one loop iteration before the loop serves the others.
    package var maxReadBytesPerIteration: Int = 1 << 20
    /// Ping frames are sent this often.
    package var heartbeatInterval: Duration = .seconds(25)
    /// A peer silent for `heartbeatInterval + heartbeatTimeout` is closed with 1001.
    package var heartbeatTimeout: Duration = .seconds(20)
    /// Producers waiting in `waitUntilWritable` suspend above this backlog, and the connection stops
    /// reading from its peer (echo endpoint included) until it falls under ``writeLowWaterBytes``…
    package var writeHighWaterBytes: Int = 4 << 20
    /// …and resume under this one.
    package var writeLowWaterBytes: Int = 1 << 20
    /// A peer whose backlog stays above the high-water mark this long is closed with 1008.
    package var slowConsumerTimeout: Duration = .seconds(30)
    /// Test instrumentation, nil in production: called on the producer's thread each time a producer
    /// suspends in `waitUntilWritable` because the connection's backlog is above ``writeHighWaterBytes``
    /// (not when it may write at once), after it is registered to be woken.
    package var onProducerSuspended: (@Sendable () -> Void)?
    /// Origin allowlist and bearer token for upgrades.
    package var handshakePolicy = WebSocketHandshakePolicy()
    /// permessage-deflate negotiation and the size threshold for compressing outgoing messages.
    package var perMessageDeflate = PerMessageDeflateConfiguration()
    /// WebSocket services by request path (e.g. `/ws/memory`).
    package var services: [String: any WebSocketService] = [:]
    /// A path on which text and binary messages are echoed (conformance and benchmarks), or nil.
    package var echoPath: String?
    /// Answers plain HTTP requests (`/healthz`, `/metrics`, static files); nil or a nil answer gives 404.
    package var httpResponder: (@Sendable (HTTPRequestHead) -> HTTPResponse?)?

    package init() {}
}
