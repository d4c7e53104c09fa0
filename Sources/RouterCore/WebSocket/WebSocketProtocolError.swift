/// A violation of RFC 6455 (or RFC 7692) by the peer, or of our limits, that fails the connection.
///
/// Each case says what was wrong and where; ``closeCode`` is the status to send in the close frame
/// and ``reason`` its text (at most 123 UTF-8 bytes, so it always fits a close frame, RFC 6455 §5.5).
package enum WebSocketProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: Frame header (FrameDecoder)

    /// A reserved bit was set that no negotiated extension defines (RFC 6455 §5.2). Close 1002.
    case reservedBitsSet(rsv1: Bool, rsv2: Bool, rsv3: Bool, opcode: WebSocketOpcode)
    /// The opcode is one RFC 6455 reserves (0x3–0x7, 0xB–0xF) (§5.2). Close 1002.
    case reservedOpcode(WebSocketOpcode)
    /// A server received a frame without a masking key (RFC 6455 §5.1). Close 1002.
    case unmaskedFrameFromClient(opcode: WebSocketOpcode)
    /// A client received a masked frame (RFC 6455 §5.1). Close 1002.
    case maskedFrameFromServer(opcode: WebSocketOpcode)
    /// A control frame without FIN: control frames must not be fragmented (RFC 6455 §5.5). Close 1002.
    case fragmentedControlFrame(opcode: WebSocketOpcode)
    /// A control frame declared a payload over 125 bytes (RFC 6455 §5.5). Close 1002.
    case controlFrameTooLong(opcode: WebSocketOpcode)
    /// RSV1 ("compressed") on a control frame: permessage-deflate applies to data frames only (RFC 7692 §6.1). Close 1002.
    case compressedControlFrame(opcode: WebSocketOpcode)
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2). Close 1002.
    case payloadLengthMostSignificantBitSet
    /// A frame declared a payload over the decoder's `maxFramePayload`. Close 1009.
    case frameTooLarge(length: Int, limit: Int)

    // MARK: Messages (MessageAssembler)

    /// A continuation frame arrived while no fragmented message was in progress (RFC 6455 §5.4). Close 1002.
    case continuationWithoutMessage
    /// A text or binary frame arrived before the fragmented message in progress had its final frame (RFC 6455 §5.4). Close 1002.
    case newMessageBeforePreviousFinished(opcode: WebSocketOpcode)
    /// RSV1 on a continuation frame: only a message's first frame carries it (RFC 7692 §6.1). Close 1002.
    case compressedContinuationFrame
    /// RSV1 on a data frame of a connection without permessage-deflate (RFC 6455 §5.2). Close 1002.
    case compressionNotNegotiated(opcode: WebSocketOpcode)
    /// A message (measured after decompression) exceeded the assembler's `maxMessageBytes`. Close 1009.
    case messageTooLarge(limit: Int)
    /// A text message is not UTF-8: the byte at `atByte` (0-based, in the decompressed message) cannot continue
    /// any valid sequence (RFC 6455 §8.1). Close 1007.
    case invalidUTF8(atByte: Int)
    /// A text message of `length` bytes ends inside a multi-byte code point (RFC 6455 §8.1). Close 1007.
    case truncatedUTF8(length: Int)
    /// The compressed data of a message could not be inflated; `detail` is what the inflater reported (RFC 7692 §8). Close 1007.
    case corruptCompressedData(detail: String)
    /// A close frame with a 1-byte payload: a body must start with a 2-byte code (RFC 6455 §5.5.1). Close 1002.
    case closePayloadTooShort
    /// A close frame carried a code that must not appear on the wire (RFC 6455 §7.4). Close 1002.
    case invalidCloseCode(UInt16)
    /// A close frame's reason is not UTF-8; `atByte` is the offending byte's offset in the reason (RFC 6455 §5.5.1). Close 1007.
    case invalidCloseReason(atByte: Int)

    /// The status to send in the close frame that fails the connection (RFC 6455 §7.4.1).
    package var closeCode: CloseCode {
        switch self {
        case .frameTooLarge, .messageTooLarge:
            .messageTooBig
        case .invalidUTF8, .truncatedUTF8, .corruptCompressedData, .invalidCloseReason:
            .invalidPayload
        case .reservedBitsSet, .reservedOpcode, .unmaskedFrameFromClient, .maskedFrameFromServer,
            .fragmentedControlFrame, .controlFrameTooLong, .compressedControlFrame,
            .payloadLengthMostSignificantBitSet, .continuationWithoutMessage,
            .newMessageBeforePreviousFinished, .compressedContinuationFrame, .compressionNotNegotiated,
            .closePayloadTooShort, .invalidCloseCode:
            .protocolError
        }
    }

    /// A short reason for the close frame: what happened and where, at most 123 UTF-8 bytes (RFC 6455 §5.5).
    package var reason: String {
        let text: String
        switch self {
        case .reservedBitsSet(let rsv1, let rsv2, let rsv3, let opcode):
            let bits = [rsv1 ? "RSV1" : nil, rsv2 ? "RSV2" : nil, rsv3 ? "RSV3" : nil].compactMap { $0 }
            text = "\(bits.joined(separator: "+")) set on a \(opcode) frame without a negotiated extension"
        case .reservedOpcode(let opcode):
            text = "reserved opcode 0x\(String(opcode.rawValue, radix: 16))"
        case .unmaskedFrameFromClient(let opcode):
            text = "unmasked \(opcode) frame from client"
        case .maskedFrameFromServer(let opcode):
            text = "masked \(opcode) frame from server"
        case .fragmentedControlFrame(let opcode):
            text = "fragmented \(opcode) frame (control frames need FIN)"
        case .controlFrameTooLong(let opcode):
            text = "\(opcode) frame payload over 125 bytes"
        case .compressedControlFrame(let opcode):
            text = "RSV1 set on a \(opcode) frame"
        case .payloadLengthMostSignificantBitSet:
            text = "64-bit payload length with the most significant bit set"
        case .frameTooLarge(let length, let limit):
            text = "frame payload of \(length) bytes exceeds the limit of \(limit)"
        case .continuationWithoutMessage:
            text = "continuation frame without a message in progress"
        case .newMessageBeforePreviousFinished(let opcode):
            text = "\(opcode) frame before the fragmented message in progress finished"
        case .compressedContinuationFrame:
            text = "RSV1 set on a continuation frame"
        case .compressionNotNegotiated(let opcode):
            text = "RSV1 set on a \(opcode) frame without permessage-deflate"
        case .messageTooLarge(let limit):
            text = "message exceeds the limit of \(limit) bytes"
        case .invalidUTF8(let offset):
            text = "text message: invalid UTF-8 at byte \(offset)"
        case .truncatedUTF8(let length):
            text = "text message: UTF-8 sequence cut off at its end (byte \(length))"
        case .corruptCompressedData(let detail):
            text = "corrupt compressed message: \(detail)"
        case .closePayloadTooShort:
            text = "close frame payload of 1 byte"
        case .invalidCloseCode(let code):
            text = "close code \(code) is not allowed on the wire"
        case .invalidCloseReason(let offset):
            text = "close reason: invalid UTF-8 at byte \(offset)"
        }
        return String(decoding: UTF8Truncation.prefix(of: text, maxBytes: 123), as: UTF8.self)
    }

    /// The reason followed by the close code, for logs: `"close frame payload of 1 byte (close 1002)"`.
    package var description: String { "\(reason) (close \(closeCode.code))" }
}

/// Cuts UTF-8 text to a byte budget without splitting a code point.
enum UTF8Truncation {
    /// The longest prefix of `text`'s UTF-8 bytes that is at most `maxBytes` long and ends on a code point boundary.
    static func prefix(of text: String, maxBytes: Int) -> [UInt8] {
        var bytes = Array(text.utf8)
        guard bytes.count > maxBytes else { return bytes }
        var cut = maxBytes
        // A byte of the form 10xxxxxx continues a code point, so the boundary is before its lead byte.
        while cut > 0 && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        bytes.removeSubrange(cut...)
        return bytes
    }
}
