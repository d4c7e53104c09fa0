/// Serializes WebSocket frames (RFC 6455 §5.2) into bytes, without I/O.
///
/// Servers never mask what they send (RFC 6455 §5.1); a client passes a fresh random `maskingKey` per frame.
package enum FrameEncoder {
    /// The size of the header for a payload of `payloadLength` bytes: 2, 4 or 10 bytes, plus 4 if `masked`.
    ///
    /// RFC 6455 §5.2: lengths up to 125 fit the 7-bit field, up to 65535 take a 16-bit extension, larger a 64-bit one.
    package static func headerSize(payloadLength: Int, masked: Bool) -> Int {
        precondition(payloadLength >= 0, "payload length must not be negative")
        let base =
            switch payloadLength {
            case ...125: 2
            case ...0xFFFF: 4
            default: 10
            }
        return base + (masked ? 4 : 0)
    }

    /// Appends a frame's header and payload to `buffer`.
    ///
    /// - Parameters:
    ///   - opcode: the frame's opcode; a control opcode requires `fin` and at most 125 payload bytes (RFC 6455 §5.5).
    ///   - fin: whether this is the message's final frame.
    ///   - rsv1: "compressed", for the first frame of a permessage-deflate message (RFC 7692 §6).
    ///   - payload: the unmasked payload.
    ///   - maskingKey: the key to mask with (client role only; RFC 6455 §5.3). Servers pass `nil`.
    ///   - buffer: where the frame is appended; it grows once, by exactly the frame's size.
    package static func encode(
        opcode: WebSocketOpcode, fin: Bool = true, rsv1: Bool = false, payload: UnsafeRawBufferPointer,
        maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil, into buffer: inout [UInt8]
    ) {
        // RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes.
        assert(!opcode.isControl || (fin && payload.count <= 125), "invalid \(opcode) frame")
        let firstByte = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue
        append(firstByte: firstByte, payload: payload, maskingKey: maskingKey, into: &buffer)
    }

    /// Returns the bytes of `frame` (all of its header bits, including RSV2 and RSV3), masked with `maskingKey` if given.
    ///
    /// Writes exactly what it is given, without checking the frame against RFC 6455, so tests can also build
    /// frames a peer must reject.
    package static func encode(_ frame: WebSocketFrame, maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] {
        var buffer: [UInt8] = []
        frame.payload.withUnsafeBytes { payload in
            append(firstByte: frame.firstHeaderByte, payload: payload, maskingKey: maskingKey, into: &buffer)
        }
        return buffer
    }

    /// Writes an unmasked (server) frame header for a payload of `payloadLength` bytes into `destination`
    /// (which must hold at least 10 bytes) and returns the header's size. Lets the transport put the header
    /// and a large payload in separate iovecs without copying the payload.
    package static func writeServerHeader(
        opcode: WebSocketOpcode, fin: Bool = true, rsv1: Bool = false, payloadLength: Int,
        into destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        precondition(destination.count >= 10, "a frame header needs up to 10 bytes")
        destination[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue
        switch payloadLength {
        case ...125:
            destination[1] = UInt8(payloadLength)
            return 2
        case ...0xFFFF:
            destination[1] = 126
            destination[2] = UInt8(truncatingIfNeeded: payloadLength >> 8)
            destination[3] = UInt8(truncatingIfNeeded: payloadLength)
            return 4
        default:
            destination[1] = 127
            let wide = UInt64(payloadLength)
            for index in 0..<8 {
                destination[2 + index] = UInt8(truncatingIfNeeded: wide >> UInt64(56 - 8 * index))
            }
            return 10
        }
    }

    /// The payload of a close frame: the 2-byte code in network order, then `reason` truncated to at most
    /// 123 bytes on a UTF-8 code point boundary, so the payload fits a control frame's 125 bytes (RFC 6455 §5.5.1).
    package static func closePayload(code: CloseCode, reason: String) -> [UInt8] {
        var payload: [UInt8] = [UInt8(truncatingIfNeeded: code.code >> 8), UInt8(truncatingIfNeeded: code.code)]
        payload.append(contentsOf: UTF8Truncation.prefix(of: reason, maxBytes: 123))
        return payload
    }

    /// Appends the header built from `firstByte` (FIN, RSV1–3, opcode), then the payload, masked in place if keyed.
    static func append(
        firstByte: UInt8, payload: UnsafeRawBufferPointer, maskingKey: (UInt8, UInt8, UInt8, UInt8)?,
        into buffer: inout [UInt8]
    ) {
        let length = payload.count
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        buffer.reserveCapacity(buffer.count + headerSize(payloadLength: length, masked: maskingKey != nil) + length)
        buffer.append(firstByte)
        switch length {
        case ...125:
            buffer.append(maskBit | UInt8(length))
        case ...0xFFFF:
            buffer.append(maskBit | 126)
            buffer.append(UInt8(truncatingIfNeeded: length >> 8))
            buffer.append(UInt8(truncatingIfNeeded: length))
        default:
            // RFC 6455 §5.2: 64-bit length in network order, most significant bit 0 (an Int length never sets it).
            buffer.append(maskBit | 127)
            let wide = UInt64(length)
            for shift in stride(from: 56, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: wide >> UInt64(shift)))
            }
        }
        if let maskingKey {
            buffer.append(maskingKey.0)
            buffer.append(maskingKey.1)
            buffer.append(maskingKey.2)
            buffer.append(maskingKey.3)
        }
        guard length > 0 else { return }
        let payloadStart = buffer.count
        payload.withMemoryRebound(to: UInt8.self) { buffer.append(contentsOf: $0) }
        if let maskingKey {
            buffer.withUnsafeMutableBytes { all in
                let region = UnsafeMutableRawBufferPointer(rebasing: all[payloadStart...])
                WebSocketMasking.apply(key: maskingKey, from: UnsafeRawBufferPointer(region), to: region)
            }
        }
    }
}
