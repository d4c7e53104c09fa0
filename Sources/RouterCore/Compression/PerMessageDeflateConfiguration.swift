/// How this endpoint uses permessage-deflate (RFC 7692): whether to offer/accept it, what it prefers to negotiate,
/// and how it compresses. Size limits on inflated messages are not here: the message assembler passes them per call.
package struct PerMessageDeflateConfiguration: Sendable, Equatable {
    /// Accept (server) or offer (client) permessage-deflate at all. Default `true`.
    package var enabled: Bool
    /// Messages of fewer bytes than this are sent uncompressed (RSV1 clear); compression rarely pays below ~1 KiB and
    /// costs CPU on every small message. Default 1024. The connection applies it to each outgoing message.
    package var threshold: Int
    /// zlib level, 0 (store only) … 9 (smallest, slowest); values outside are clamped. Default 6, zlib's own default
    /// (`Z_DEFAULT_COMPRESSION` means 6): near level 9's ratio on JSON at a fraction of its CPU.
    package var compressionLevel: Int
    /// zlib `memLevel`, 1 … 9 (clamped): memory for the internal compression state. Default 8, zlib's default.
    package var memoryLevel: Int
    /// The largest LZ77 window (log2 bytes, 9…15, clamped) the server compresses with; below 15 it is announced as
    /// `server_max_window_bits`. Lower saves memory per connection at some ratio. Default 15.
    package var serverMaxWindowBits: Int
    /// The largest window (9…15, clamped) the server asks clients to compress with, announced as
    /// `client_max_window_bits` when the client offered that parameter. Default 15.
    package var clientMaxWindowBits: Int
    /// The server resets its compressor after every message even if the client did not ask (announced as
    /// `server_no_context_takeover`). Default `false`.
    package var serverNoContextTakeover: Bool
    /// The server asks clients to reset their compressor after every message (`client_no_context_takeover`).
    /// Default `false`.
    package var clientNoContextTakeover: Bool
    /// Test hook: told about every message a codec made with this configuration compresses, on the thread
    /// that compresses it (tests check that no event loop does). nil in production.
    package var deflateObserver: DeflateObserver?

    package init(
        enabled: Bool = true,
        threshold: Int = 1024,
        compressionLevel: Int = 6,
        memoryLevel: Int = 8,
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15,
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false
    ) {
        self.enabled = enabled
        self.threshold = threshold
        self.compressionLevel = compressionLevel
        self.memoryLevel = memoryLevel
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
    }
}

/// Sees each message a ``PerMessageDeflateCodec`` compresses, on the compressing thread (a test hook).
/// Equal only to itself, so configurations that carry one compare as they did without it.
package final class DeflateObserver: Sendable, Equatable {
    private let observe: @Sendable (_ payloadBytes: Int) -> Void

    package init(_ observe: @escaping @Sendable (_ payloadBytes: Int) -> Void) {
        self.observe = observe
    }

    func deflating(payloadBytes: Int) { observe(payloadBytes) }

    package static func == (lhs: DeflateObserver, rhs: DeflateObserver) -> Bool { lhs === rhs }
}

/// What the two endpoints agreed for one connection (RFC 7692 §7.1).
///
/// Window bits are log2 of the LZ77 window. A value of 8 can appear when the *peer* compresses (a client that offered
/// `client_max_window_bits=8`, or a server answering `server_max_window_bits=8`); our inflaters then use a 512-byte
/// window, which reads any 256-byte-window stream. Our own deflaters never use less than 9: zlib rejects a raw
/// window of 8, so negotiation never agrees to that for our side.
package struct PerMessageDeflateParameters: Sendable, Equatable {
    /// The server resets its compressor after each message.
    package var serverNoContextTakeover: Bool
    /// The client resets its compressor after each message.
    package var clientNoContextTakeover: Bool
    /// The server's compression window, 9…15 (8 only when the server is the peer).
    package var serverMaxWindowBits: Int
    /// The client's compression window, 9…15 (8 only when the client is the peer).
    package var clientMaxWindowBits: Int

    package init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }
}

/// Which end of the connection a ``PerMessageDeflateCodec`` sits on: it decides which half of the
/// ``PerMessageDeflateParameters`` applies to compressing and which to decompressing.
package enum PerMessageDeflateRole: Sendable, Hashable {
    case server
    case client
}
