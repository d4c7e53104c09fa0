internal import CZlib

/// permessage-deflate (RFC 7692 §7.2) for one connection: compresses outgoing messages and inflates incoming ones.
///
/// A server compresses with `serverMaxWindowBits` / `serverNoContextTakeover` and inflates with the client's half of
/// ``PerMessageDeflateParameters``; a client does the reverse. Inflaters use at least a 9-bit window, a superset of
/// any smaller one. Loop-confined: one instance per connection, used from one thread.
///
/// ```swift
/// let server = try PerMessageDeflateCodec(parameters: agreed, role: .server)
/// let client = try PerMessageDeflateCodec(parameters: agreed, role: .client)
/// let wire = "Hello".utf8.withContiguousStorageIfAvailable { server.deflate(UnsafeRawBufferPointer($0)) }!
/// let back = try wire.withUnsafeBytes { try client.inflate($0, isFinal: true, limit: 1 << 20) }  // "Hello"
/// ```
package final class PerMessageDeflateCodec: MessageInflating, MessageDeflating {
    package let parameters: PerMessageDeflateParameters
    package let role: PerMessageDeflateRole
    package let configuration: PerMessageDeflateConfiguration

    private let deflater: Deflater
    private let inflater: Inflater
    private let deflateNoContextTakeover: Bool
    private let inflateNoContextTakeover: Bool
    /// The peer ended its DEFLATE stream with a BFINAL block; the next input starts a new one.
    private var inflateStreamEnded = false

    /// The sync-flush marker: an empty stored block's LEN/NLEN (RFC 7692 §7.2.1, §7.2.2).
    private static let tail: [UInt8] = [0x00, 0x00, 0xff, 0xff]

    /// - Throws: ``ZlibError`` when zlib cannot allocate its streams.
    package init(
        parameters: PerMessageDeflateParameters,
        role: PerMessageDeflateRole,
        configuration: PerMessageDeflateConfiguration = PerMessageDeflateConfiguration()
    ) throws(ZlibError) {
        self.parameters = parameters
        self.role = role
        self.configuration = configuration
        let ownBits: Int
        let peerBits: Int
        switch role {
        case .server:
            ownBits = parameters.serverMaxWindowBits
            peerBits = parameters.clientMaxWindowBits
            deflateNoContextTakeover = parameters.serverNoContextTakeover
            inflateNoContextTakeover = parameters.clientNoContextTakeover
        case .client:
            ownBits = parameters.clientMaxWindowBits
            peerBits = parameters.serverMaxWindowBits
            deflateNoContextTakeover = parameters.clientNoContextTakeover
            inflateNoContextTakeover = parameters.serverNoContextTakeover
        }
        deflater = try Deflater(
            format: .raw(windowBits: ownBits), level: configuration.compressionLevel,
            memoryLevel: configuration.memoryLevel)
        // A window of 8 bits (peer's side only) is read with 9: a larger window inflates any smaller one's output.
        inflater = try Inflater(format: .raw(windowBits: max(peerBits, 9)))
    }

    /// Compresses a whole message (RFC 7692 §7.2.1): DEFLATE, `Z_SYNC_FLUSH`, then the `00 00 ff ff` tail removed.
    /// An empty message becomes the single byte `00` (§7.2.3.6). Without context takeover the compressor is reset.
    package func deflate(_ payload: UnsafeRawBufferPointer) -> [UInt8] {
        configuration.deflateObserver?.deflating(payloadBytes: payload.count)
        var output: [UInt8] = []
        output.reserveCapacity(payload.count / 2 + 16)
        do {
            try deflater.compress(payload, flush: Z_SYNC_FLUSH, into: &output)
        } catch {
            // Only Z_STREAM_ERROR (a corrupted stream) can get here: a programming error, not a runtime condition.
            preconditionFailure("permessage-deflate: \(error)")
        }
        if deflateNoContextTakeover { deflater.reset() }
        if output.count >= 4 && output.suffix(4).elementsEqual(Self.tail) {
            // RFC 7692 §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail end.
            output.removeLast(4)
        }
        // An empty message right after a previous flush makes zlib emit nothing; §7.2.3.6: `00` is an empty block.
        if output.isEmpty { output = [0x00] }
        return output
    }

    /// Inflates one frame of a compressed message (RFC 7692 §7.2.2). On the final frame the `00 00 ff ff` tail is
    /// appended first and, without context takeover, the decompressor is reset afterwards.
    ///
    /// A peer may end a message with a BFINAL block (§7.2.3.4): the stream is restarted, keeping the window
    /// when context takeover applies, and the rest of the input is read as a new stream.
    /// - Throws: ``InflateFailure/tooLarge(limit:)`` (with the `limit` given) as soon as this call's output, tail
    ///   included, would pass `limit` bytes, never buffering more; ``InflateFailure/corrupt(detail:)`` for invalid
    ///   DEFLATE data. After either, the decompressor's state is unspecified: close the connection (1009 / 1007).
    package func inflate(_ payload: UnsafeRawBufferPointer, isFinal: Bool, limit: Int) throws(InflateFailure) -> [UInt8] {
        var output: [UInt8] = []
        try feed(payload, into: &output, limit: limit)
        if isFinal {
            // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the tail end of the payload of the message.
            // After a BFINAL block that ended the payload exactly, the tail would start a half-read stored block.
            if !inflateStreamEnded {
                try narrowingToInflateFailure {
                    try Self.tail.withUnsafeBytes { try feed($0, into: &output, limit: limit) }
                }
            }
            if inflateNoContextTakeover {
                inflater.reset()
                inflateStreamEnded = false
            } else if inflateStreamEnded {
                restart()
            }
        }
        return output
    }

    private func restart() {
        if inflateNoContextTakeover {
            inflater.reset()
        } else {
            inflater.restartKeepingWindow()
        }
        inflateStreamEnded = false
    }

    private func feed(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int) throws(InflateFailure) {
        var rest = input
        while !rest.isEmpty {
            if inflateStreamEnded { restart() }
            let progress = try inflater.inflate(rest, into: &output, limit: limit)
            if progress.streamEnded { inflateStreamEnded = true }
            rest = UnsafeRawBufferPointer(rebasing: rest[progress.consumed...])
            if !progress.streamEnded { break }
        }
    }
}

@available(*, unavailable)
extension PerMessageDeflateCodec: Sendable {}
