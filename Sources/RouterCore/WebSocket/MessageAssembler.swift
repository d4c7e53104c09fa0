/// Reassembles messages from decoded frames (RFC 6455 §5.4) and interprets control frames.
///
/// Control frames may arrive between the fragments of a message and come out at once as events.
/// Text is validated as UTF-8 frame by frame, so invalid text fails (1007) as soon as its frame arrives
/// (RFC 6455 §8.1). A message whose first frame has RSV1 set is inflated frame by frame through the
/// ``MessageInflating`` given at init (RFC 7692 §6), with the message's remaining byte budget as the limit,
/// and its output is validated as it arrives. A message over `maxMessageBytes`, measured after
/// decompression, fails with ``CloseCode/messageTooBig`` (1009).
///
/// After an error the buffered fragments are released at once; the connection is expected to close.
/// Loop-confined, like its inflater.
package struct MessageAssembler {
    /// What a frame produced: a complete message, or a control frame's content.
    package enum Event: Equatable {
        /// A complete data message; text has been validated as UTF-8.
        case message(WebSocketMessage)
        /// A ping with its application data (to be answered with a pong carrying the same data, RFC 6455 §5.5.2).
        case ping([UInt8])
        /// A pong with its application data (RFC 6455 §5.5.3).
        case pong([UInt8])
        /// A close frame: `code` is `nil` when the frame had no body (the peer sent no status, 1005), and
        /// `reason` is the validated UTF-8 text after the code (RFC 6455 §5.5.1).
        case close(code: CloseCode?, reason: String)
    }

    private enum Kind {
        case text, binary
    }

    /// The largest message accepted, in bytes after decompression.
    package let maxMessageBytes: Int
    private let inflater: (any MessageInflating)?

    /// The kind of the fragmented message in progress, `nil` between messages.
    private var kind: Kind?
    /// Whether the message in progress is compressed (RSV1 on its first frame).
    private var isCompressed = false
    /// The message in progress (decompressed), until its final frame.
    private var buffer: [UInt8] = []
    private var validator = UTF8Validator()

    /// Creates an assembler that accepts messages of up to `maxMessageBytes` bytes.
    ///
    /// - Parameter inflater: the connection's permessage-deflate inflater once the extension was negotiated;
    ///   without one, RSV1 on a data frame is a protocol error (1002).
    package init(maxMessageBytes: Int, inflater: (any MessageInflating)? = nil) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.maxMessageBytes = maxMessageBytes
        self.inflater = inflater
    }

    /// Whether a fragmented message has started and not yet finished.
    package var isInsideMessage: Bool { kind != nil }

    /// Takes the next frame; returns an event, or `nil` for a non-final data fragment.
    ///
    /// - Throws: a ``WebSocketProtocolError``: a continuation without a started message, a new data message
    ///   before the previous one finished, RSV1 on a continuation or without an inflater, a close body of
    ///   1 byte or with a code not valid on the wire (all 1002); a message over `maxMessageBytes` or an inflater
    ///   reporting ``InflateFailure/tooLarge(limit:)`` (1009); invalid or truncated UTF-8 in a text message or
    ///   a close reason, or ``InflateFailure/corrupt(detail:)`` (1007). Buffered fragments are released first.
    package mutating func push(_ frame: WebSocketFrame) throws(WebSocketProtocolError) -> Event? {
        do throws(WebSocketProtocolError) {
            return try process(frame)
        } catch {
            discardMessage()
            throw error
        }
    }

    private mutating func process(_ frame: WebSocketFrame) throws(WebSocketProtocolError) -> Event? {
        // RFC 6455 §5.2: reserved bits need a negotiated extension; only RSV1 (permessage-deflate) can be.
        // The decoder already rejects these; checked again so the assembler stands on its own.
        if frame.rsv2 || frame.rsv3 {
            throw .reservedBitsSet(rsv1: false, rsv2: frame.rsv2, rsv3: frame.rsv3, opcode: frame.opcode)
        }
        if frame.opcode.isControl {
            // RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
            return try controlEvent(frame)
        }
        switch frame.opcode {
        case .continuation:
            // RFC 6455 §5.4: a continuation frame belongs to a message started by a text or binary frame.
            guard let kind else { throw .continuationWithoutMessage }
            // RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message only.
            guard !frame.rsv1 else { throw .compressedContinuationFrame }
            return try append(frame.payload, fin: frame.fin, kind: kind)

        case .text, .binary:
            // RFC 6455 §5.4: the fragments of one message are not interleaved with another message.
            guard kind == nil else { throw .newMessageBeforePreviousFinished(opcode: frame.opcode) }
            // RFC 6455 §5.2 / RFC 7692 §6: RSV1 means "compressed" only when permessage-deflate was negotiated.
            if frame.rsv1 && inflater == nil { throw .compressionNotNegotiated(opcode: frame.opcode) }
            let newKind: Kind = frame.opcode == .text ? .text : .binary
            validator.reset()
            if frame.fin && !frame.rsv1 {
                // A whole uncompressed message in one frame: check it and hand over the payload without copying.
                return .message(try wholeMessage(frame.payload, kind: newKind))
            }
            kind = newKind
            isCompressed = frame.rsv1
            buffer = []
            return try append(frame.payload, fin: frame.fin, kind: newKind)

        default:
            throw .reservedOpcode(frame.opcode)
        }
    }

    private mutating func wholeMessage(_ payload: [UInt8], kind: Kind) throws(WebSocketProtocolError) -> WebSocketMessage {
        guard payload.count <= maxMessageBytes else { throw .messageTooLarge(limit: maxMessageBytes) }
        switch kind {
        case .binary:
            return .binary(payload)
        case .text:
            try validateText(payload)
            // RFC 6455 §8.1: the message must end on a complete code point.
            guard validator.isAtCharacterBoundary else { throw .truncatedUTF8(length: payload.count) }
            return .text(payload)
        }
    }

    /// Adds one frame's payload (inflated if the message is compressed) and completes the message at `fin`.
    private mutating func append(_ payload: [UInt8], fin: Bool, kind: Kind) throws(WebSocketProtocolError) -> Event? {
        let remaining = maxMessageBytes - buffer.count
        let newBytes: [UInt8]
        if isCompressed {
            newBytes = try inflate(payload, fin: fin, limit: remaining)
        } else {
            guard payload.count <= remaining else { throw .messageTooLarge(limit: maxMessageBytes) }
            newBytes = payload
        }
        // Fail fast: validate this frame's text before buffering it.
        if kind == .text { try validateText(newBytes) }
        if buffer.isEmpty {
            buffer = newBytes
        } else {
            buffer.append(contentsOf: newBytes)
        }
        guard fin else { return nil }

        // RFC 6455 §8.1: the whole text message must be valid UTF-8, so it must not end inside a code point.
        if kind == .text && !validator.isAtCharacterBoundary { throw .truncatedUTF8(length: buffer.count) }
        let message: WebSocketMessage = kind == .text ? .text(buffer) : .binary(buffer)
        discardMessage()
        return .message(message)
    }

    private func inflate(_ payload: [UInt8], fin: Bool, limit: Int) throws(WebSocketProtocolError) -> [UInt8] {
        guard let inflater else { throw .compressionNotNegotiated(opcode: .continuation) }
        let result = payload.withUnsafeBytes { bytes -> Result<[UInt8], InflateFailure> in
            do throws(InflateFailure) {
                // RFC 7692 §7.2.2: the inflater appends the 00 00 ff ff tail itself when `isFinal`.
                return .success(try inflater.inflate(bytes, isFinal: fin, limit: limit))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let output):
            // The budget is ours to enforce too, whatever the inflater does.
            guard output.count <= limit else { throw .messageTooLarge(limit: maxMessageBytes) }
            return output
        case .failure(.tooLarge):
            throw .messageTooLarge(limit: maxMessageBytes)
        case .failure(.corrupt(let detail)):
            throw .corruptCompressedData(detail: detail)
        }
    }

    private mutating func validateText(_ bytes: [UInt8]) throws(WebSocketProtocolError) {
        // RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection (1007, §7.4.1).
        guard validator.feed(bytes) else { throw .invalidUTF8(atByte: validator.failureOffset ?? 0) }
    }

    private func controlEvent(_ frame: WebSocketFrame) throws(WebSocketProtocolError) -> Event {
        switch frame.opcode {
        case .ping:
            return .ping(frame.payload)
        case .pong:
            return .pong(frame.payload)
        case .close:
            return try closeEvent(frame.payload)
        default:
            throw .reservedOpcode(frame.opcode)
        }
    }

    private func closeEvent(_ payload: [UInt8]) throws(WebSocketProtocolError) -> Event {
        // RFC 6455 §5.5.1: a close frame may have no body at all.
        if payload.isEmpty { return .close(code: nil, reason: "") }
        // RFC 6455 §5.5.1: if there is a body, its first two bytes are the status code.
        guard payload.count >= 2 else { throw .closePayloadTooShort }
        let raw = UInt16(payload[0]) << 8 | UInt16(payload[1])
        let code = CloseCode(code: raw)
        // RFC 6455 §7.4.1, §7.4.2: 1005, 1006, 1015, unassigned 1xxx and 0–999, 2000–2999 never appear on the wire.
        guard code.isValidOnWire else { throw .invalidCloseCode(raw) }
        var reasonValidator = UTF8Validator()
        // RFC 6455 §5.5.1: the reason after the code is UTF-8.
        let valid = payload.withUnsafeBytes { bytes in
            reasonValidator.feed(UnsafeRawBufferPointer(rebasing: bytes[2...]))
        }
        guard valid else { throw .invalidCloseReason(atByte: reasonValidator.failureOffset ?? 0) }
        guard reasonValidator.isAtCharacterBoundary else { throw .invalidCloseReason(atByte: payload.count - 2) }
        return .close(code: code, reason: String(decoding: payload[2...], as: UTF8.self))
    }

    /// Releases the message in progress (after it completed, or at once on an error).
    private mutating func discardMessage() {
        kind = nil
        isCompressed = false
        buffer = []
        validator.reset()
    }
}

extension MessageAssembler.Event: Sendable {}

/// The assembler holds a loop-confined inflater, so it stays on its connection's loop.
@available(*, unavailable)
extension MessageAssembler: Sendable {}
