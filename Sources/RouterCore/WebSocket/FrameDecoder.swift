/// Parses WebSocket frames (RFC 6455 §5.2) from bytes, without I/O and without buffering of its own.
///
/// The caller keeps the unconsumed input and calls ``decode(_:)`` with all of it; the decoder parses one
/// frame from the start, or returns `nil` when more bytes are needed. Every header rule is checked as soon
/// as the bytes that carry it have arrived, before any payload is available, so a frame over
/// ``maxFramePayload`` fails (1009) without ever being buffered.
///
/// The decoder enforces only the per-frame rules; fragmentation, UTF-8 and close payloads belong to
/// ``MessageAssembler``.
package struct FrameDecoder: Sendable {
    /// Which end we are: a server requires masked frames, a client unmasked ones (RFC 6455 §5.1).
    package let role: WebSocketRole
    /// The largest payload accepted in one frame; a frame declaring more fails with 1009.
    package let maxFramePayload: Int
    /// Set once permessage-deflate is negotiated: RSV1 is then allowed on data frames only.
    ///
    /// Whether RSV1 sits on a message's first frame only is checked by ``MessageAssembler`` (RFC 7692 §6.1).
    package var allowsRSV1: Bool = false

    /// Creates a decoder for `role` that rejects frames with a payload over `maxFramePayload` bytes.
    package init(role: WebSocketRole, maxFramePayload: Int) {
        precondition(maxFramePayload >= 0, "maxFramePayload must not be negative")
        self.role = role
        self.maxFramePayload = maxFramePayload
    }

    /// Parses one frame from the start of `bytes`.
    ///
    /// - Returns: the unmasked frame and the number of bytes it took, or `nil` when `bytes` holds only part of a
    ///   frame (the caller appends more input and calls again with all unconsumed bytes).
    /// - Throws: a ``WebSocketProtocolError`` as soon as the header breaks a rule: reserved bits not negotiated,
    ///   a reserved opcode, the wrong masking for ``role``, a fragmented or over-125-byte control frame, RSV1 on a
    ///   control frame, a 64-bit length with its top bit set (all 1002), or a payload over ``maxFramePayload`` (1009).
    /// When the last ``decode(_:)`` returned nil after a complete length field: the whole frame's size in
    /// bytes, so a caller can reserve its buffer once instead of growing it read by read.
    package private(set) var pendingFrameBytes: Int?

    package mutating func decode(
        _ bytes: UnsafeRawBufferPointer
    ) throws(WebSocketProtocolError) -> (frame: WebSocketFrame, consumed: Int)? {
        guard let header = try decodeHeader(bytes) else { return nil }
        let length = header.payloadLength
        // Compared by subtraction: `headerSize + length` could overflow for a huge limit.
        guard bytes.count - header.size >= length else {
            pendingFrameBytes = Self.saturatingSum(header.size, length)
            return nil
        }
        pendingFrameBytes = nil

        let source = UnsafeRawBufferPointer(rebasing: bytes[header.size..<(header.size + length)])
        return (Self.frame(header, payload: source), header.size + length)
    }

    /// The frame `header` starts, with `source` (its whole payload as received) unmasked into a new array.
    static func frame(_ header: FrameHeader, payload source: UnsafeRawBufferPointer) -> WebSocketFrame {
        let length = source.count
        // An empty payload must not go through `unsafeUninitializedCapacity`: with capacity 0 it writes the
        // count of the shared empty-array singleton, a (benign) race that ThreadSanitizer reports.
        let payload: [UInt8] =
            length == 0
            ? []
            : [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
                let destination = UnsafeMutableRawBufferPointer(buffer)
                if let maskingKey = header.maskingKey {
                    WebSocketMasking.apply(key: maskingKey, from: source, to: destination)
                } else {
                    destination.copyMemory(from: source)
                }
                initialized = length
            }
        return header.frame(payload: payload)
    }

    /// Payloads up to this size are unmasked into a connection's spare array (see ``frame(_:payload:spare:)``).
    static let spareLimit = 1024

    /// Like ``frame(_:payload:)``, but a small payload is unmasked into `spare`, whose storage is reused when
    /// nothing kept the last frame made from it (an echoed message, a ping): no allocation per frame. When
    /// something did keep it (a message handed to a session), writing copies on write, as a new array would.
    static func frame(_ header: FrameHeader, payload source: UnsafeRawBufferPointer, spare: inout [UInt8]) -> WebSocketFrame {
        guard source.count > 0, source.count <= spareLimit else { return frame(header, payload: source) }
        // One large payload must not size every later copy (nor be kept for an idle connection).
        if spare.capacity > 4 * max(source.count, 128) { spare = [] }
        spare.removeAll(keepingCapacity: true)
        spare.append(contentsOf: source)
        if let maskingKey = header.maskingKey {
            spare.withUnsafeMutableBytes { bytes in
                WebSocketMasking.apply(key: maskingKey, from: UnsafeRawBufferPointer(bytes), to: bytes)
            }
        }
        return header.frame(payload: spare)
    }

    /// Parses the header of the frame at the start of `bytes`, whether or not its payload has arrived.
    ///
    /// - Returns: the header, or `nil` when `bytes` ends inside it.
    /// - Throws: as ``decode(_:)``: every header rule is checked here.
    mutating func decodeHeader(_ bytes: UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> FrameHeader? {
        guard bytes.count >= 1 else { return nil }
        let first = bytes[0]
        let fin = first & 0x80 != 0
        let rsv1 = first & 0x40 != 0
        let rsv2 = first & 0x20 != 0
        let rsv3 = first & 0x10 != 0
        let opcode = WebSocketOpcode(rawValue: first)

        // RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defining them was negotiated
        // (only permessage-deflate's RSV1 is, RFC 7692 §6).
        if rsv2 || rsv3 || (rsv1 && !allowsRSV1) {
            throw .reservedBitsSet(rsv1: rsv1 && !allowsRSV1, rsv2: rsv2, rsv3: rsv3, opcode: opcode)
        }
        // RFC 6455 §5.2: a reserved opcode fails the connection.
        guard opcode.isKnown else { throw .reservedOpcode(opcode) }
        if opcode.isControl {
            // RFC 6455 §5.5: control frames MUST NOT be fragmented.
            guard fin else { throw .fragmentedControlFrame(opcode: opcode) }
            // RFC 7692 §6.1: permessage-deflate compresses data messages only; RSV1 on a control frame is an error.
            guard !rsv1 else { throw .compressedControlFrame(opcode: opcode) }
        }

        guard bytes.count >= 2 else { return nil }
        let second = bytes[1]
        let masked = second & 0x80 != 0
        let shortLength = Int(second & 0x7F)
        // RFC 6455 §5.1: a server MUST close on an unmasked frame; a client MUST close on a masked one.
        switch role {
        case .server where !masked: throw .unmaskedFrameFromClient(opcode: opcode)
        case .client where masked: throw .maskedFrameFromServer(opcode: opcode)
        default: break
        }
        // RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or less (so no extended length).
        if opcode.isControl && shortLength > 125 { throw .controlFrameTooLong(opcode: opcode) }

        var headerSize = 2
        let length: Int
        switch shortLength {
        case 126:
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            headerSize = 4
        case 127:
            guard bytes.count >= 10 else { return nil }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(bytes[index]) }
            // RFC 6455 §5.2: with the 64-bit length, the most significant bit MUST be 0.
            guard value & (1 << 63) == 0 else { throw .payloadLengthMostSignificantBitSet }
            length = Int(value)
            headerSize = 10
        default:
            length = shortLength
        }
        // Our limit, checked before the masking key and the payload arrive.
        guard length <= maxFramePayload else { throw .frameTooLarge(length: length, limit: maxFramePayload) }

        var maskingKey: (UInt8, UInt8, UInt8, UInt8)?
        if masked {
            guard bytes.count >= headerSize + 4 else {
                pendingFrameBytes = Self.saturatingSum(headerSize + 4, length)
                return nil
            }
            maskingKey = (bytes[headerSize], bytes[headerSize + 1], bytes[headerSize + 2], bytes[headerSize + 3])
            headerSize += 4
        }
        return FrameHeader(
            fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode, maskingKey: maskingKey,
            payloadLength: length, size: headerSize)
    }

    /// `header + length`, or `Int.max` where it would overflow (a limit near `Int.max` lets a 63-bit length through).
    private static func saturatingSum(_ header: Int, _ length: Int) -> Int {
        let (sum, overflow) = header.addingReportingOverflow(length)
        return overflow ? .max : sum
    }
}
