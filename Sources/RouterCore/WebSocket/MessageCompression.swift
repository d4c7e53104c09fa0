/// Why a compressed message could not be inflated.
package enum InflateFailure: Error, Sendable, Equatable {
    /// The decompressed message would exceed `limit` bytes (a decompression bomb or simply too large): close 1009.
    case tooLarge(limit: Int)
    /// The compressed data is invalid; `detail` says what zlib reported: close 1007.
    case corrupt(detail: String)
}

/// Decompresses the frames of permessage-deflate messages (RFC 7692 §7.2.2) for one connection.
/// Implemented by the Compression module; used by the message assembler. Loop-confined.
package protocol MessageInflating: AnyObject {
    /// Inflates one frame's payload of a compressed message and returns the bytes it produced.
    /// On the message's final frame (`isFinal`), the `00 00 ff ff` tail is appended before inflating and,
    /// without context takeover, the stream is reset afterwards. `limit` is the number of decompressed
    /// bytes still allowed for this message; producing more throws ``InflateFailure/tooLarge(limit:)``
    /// without ever buffering more than the limit.
    func inflate(_ payload: UnsafeRawBufferPointer, isFinal: Bool, limit: Int) throws(InflateFailure) -> [UInt8]
}

/// Compresses outgoing messages with permessage-deflate (RFC 7692 §7.2.1) for one connection. Loop-confined.
protocol MessageDeflating: AnyObject {
    /// Compresses a whole message payload and returns the frame payload to send with RSV1 set
    /// (sync-flushed, `00 00 ff ff` tail removed; reset afterwards without context takeover).
    func deflate(_ payload: UnsafeRawBufferPointer) -> [UInt8]
}
