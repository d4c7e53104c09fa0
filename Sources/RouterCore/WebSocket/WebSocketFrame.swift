/// One WebSocket frame as it appears on the wire (RFC 6455 §5.2), with its payload already unmasked.
///
/// Frames are the unit of ``FrameDecoder`` and ``FrameEncoder``; ``MessageAssembler`` turns them into messages.
/// The masking key is not part of the value: a decoder removes it and an encoder takes it as an argument.
package struct WebSocketFrame: Sendable, Equatable {
    /// Whether this is the final fragment of a message. Control frames always have it set (RFC 6455 §5.5).
    package var fin: Bool
    /// Reserved bit 1; "compressed" for the first frame of a permessage-deflate message (RFC 7692 §6).
    package var rsv1: Bool
    /// Reserved bit 2; no extension we support defines it.
    package var rsv2: Bool
    /// Reserved bit 3; no extension we support defines it.
    package var rsv3: Bool
    /// What the payload means (RFC 6455 §5.2).
    package var opcode: WebSocketOpcode
    /// The application or extension data, unmasked.
    package var payload: [UInt8]

    /// Creates a frame; the defaults describe a final frame with no reserved bits, the common case.
    package init(
        fin: Bool = true, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false,
        opcode: WebSocketOpcode, payload: [UInt8]
    ) {
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.payload = payload
    }

    /// The first header byte: FIN, RSV1–3 and the opcode (RFC 6455 §5.2).
    var firstHeaderByte: UInt8 {
        (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | opcode.rawValue
    }
}

/// Which end of the connection a codec works for; it decides the masking rules (RFC 6455 §5.1).
package enum WebSocketRole: Sendable {
    /// Receives masked frames from clients and sends unmasked ones.
    case server
    /// Receives unmasked frames from a server and masks what it sends.
    case client
}
