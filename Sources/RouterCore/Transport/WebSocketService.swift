/// A complete message received on a WebSocket (after reassembly and decompression).
package enum WebSocketMessage: Sendable, Equatable {
    /// A text message; the bytes are validated UTF-8.
    case text([UInt8])
    case binary([UInt8])
}

/// What a service sees of the HTTP upgrade request that opened a WebSocket.
package struct UpgradeRequest: Sendable {
    /// The request path without the query, e.g. `/ws/memory`.
    package var path: String
    /// Decoded query parameters (`?compress=gzip&token=…`); the last value wins for repeated names.
    package var query: [String: String]
    /// Header fields with lower-cased names, in arrival order.
    package var headers: [(name: String, value: String)]
    /// The peer's address, e.g. `127.0.0.1:53122`.
    package var remoteAddress: String

    package init(path: String, query: [String: String], headers: [(name: String, value: String)], remoteAddress: String) {
        self.path = path
        self.query = query
        self.headers = headers
        self.remoteAddress = remoteAddress
    }

    /// The first value of a header (case-insensitive name).
    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.name == lower })?.value
    }
}

/// The outbound side of one WebSocket connection, usable from any thread or task.
///
/// The transport's `ConnectionHandle` conforms; tests use an in-memory fake.
package protocol OutboundMessageSink: Sendable {
    /// Queues a complete text message (valid UTF-8) without blocking.
    /// Messages are written in the order they were queued. Ignored once the connection is closing.
    func sendText(_ utf8: [UInt8])
    /// Suspends while the connection's outbound queue is above its high-water mark.
    /// Returns `false` if the connection closed (the caller should stop producing).
    func waitUntilWritable() async -> Bool
    /// Starts the close handshake with `code` (a reason of at most 123 bytes is sent).
    func close(code: CloseCode, reason: String)
    /// The receiver has room again after ``WebSocketReceiver/acceptsMoreInput`` turned false: the
    /// transport goes on reading the socket. Callable from any thread.
    func resumeReading()
    /// Whether permessage-deflate was negotiated (the transport then compresses large messages itself).
    var usesPerMessageDeflate: Bool { get }
    /// Where work that handles this connection's messages should run (its event loop's session
    /// executor for a real connection); nil for the global executor.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension OutboundMessageSink {
    package var preferredExecutor: (any TaskExecutor)? { nil }
    /// A sink without a socket has nothing to resume.
    package func resumeReading() {}
}

/// Receives the messages of one WebSocket connection. Its methods are called on the connection's
/// event-loop thread and must return quickly: never run user code or block there.
package protocol WebSocketReceiver: AnyObject {
    func received(_ message: WebSocketMessage)
    /// Whether the transport may deliver more messages; checked after each ``received(_:)``. When false
    /// it stops reading the socket (and parsing what it has buffered), so TCP backpressure holds the peer,
    /// until the service calls ``OutboundMessageSink/resumeReading()``, which also calls ``readingResumed()``.
    var acceptsMoreInput: Bool { get }
    /// Called on the loop when reading resumes after ``acceptsMoreInput`` was false.
    func readingResumed()
    /// Ends a run of ``received(_:)`` calls: the loop calls it once per iteration, after every ready
    /// connection was read, for each connection that received messages in it. A receiver handing
    /// messages to another thread wakes that thread here, once per batch: waking it per message
    /// would let it preempt the loop between connections.
    func receivedBatchEnd()
    /// The connection is closed (after the close handshake, a protocol error, or a dropped socket).
    /// `code` is the code of the side that closed first: what the peer sent (1005 if nothing, 1006
    /// when the socket dropped without a close), or what we sent when we closed or failed it.
    func closed(code: CloseCode)
}

extension WebSocketReceiver {
    /// Nothing to do for a receiver that handles each message as it comes.
    package func receivedBatchEnd() {}
    /// A receiver that handles each message as it comes always takes more.
    package var acceptsMoreInput: Bool { true }
    package func readingResumed() {}
}

/// An application endpoint served on a WebSocket path.
package protocol WebSocketService: Sendable {
    /// Called on the loop right after the upgrade completed; returns the receiver for the connection's messages.
    func connectionOpened(_ connection: any OutboundMessageSink, request: UpgradeRequest) -> any WebSocketReceiver
}
