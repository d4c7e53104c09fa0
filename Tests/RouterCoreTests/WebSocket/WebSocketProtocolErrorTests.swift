import RouterCore
import Testing

@Suite("WebSocketProtocolError")
struct WebSocketProtocolErrorTests {
    static let allCases: [(WebSocketProtocolError, UInt16)] = [
        (.reservedBitsSet(rsv1: true, rsv2: true, rsv3: true, opcode: .text), 1002),
        (.reservedOpcode(WebSocketOpcode(rawValue: 0xB)), 1002),
        (.unmaskedFrameFromClient(opcode: .binary), 1002),
        (.maskedFrameFromServer(opcode: .binary), 1002),
        (.fragmentedControlFrame(opcode: .close), 1002),
        (.controlFrameTooLong(opcode: .ping), 1002),
        (.compressedControlFrame(opcode: .pong), 1002),
        (.payloadLengthMostSignificantBitSet, 1002),
        (.frameTooLarge(length: Int.max, limit: Int.max - 1), 1009),
        (.continuationWithoutMessage, 1002),
        (.newMessageBeforePreviousFinished(opcode: .text), 1002),
        (.compressedContinuationFrame, 1002),
        (.compressionNotNegotiated(opcode: .binary), 1002),
        (.messageTooLarge(limit: Int.max), 1009),
        (.invalidUTF8(atByte: Int.max), 1007),
        (.truncatedUTF8(length: Int.max), 1007),
        (.corruptCompressedData(detail: String(repeating: "zlib said ü ", count: 30)), 1007),
        (.closePayloadTooShort, 1002),
        (.invalidCloseCode(65535), 1002),
        (.invalidCloseReason(atByte: 124), 1007),
    ]

    @Test func everyCaseHasItsCloseCodeAndAReasonThatFitsACloseFrame() {
        for (error, code) in Self.allCases {
            #expect(error.closeCode.code == code, "\(error)")
            let reasonBytes = Array(error.reason.utf8)
            #expect(!reasonBytes.isEmpty && reasonBytes.count <= 123, "\(error.reason)")
            #expect(FrameEncoder.closePayload(code: error.closeCode, reason: error.reason).count <= 125)
        }
    }

    @Test func reasonsSayWhatAndWhere() {
        #expect(WebSocketProtocolError.frameTooLarge(length: 1001, limit: 1000).reason == "frame payload of 1001 bytes exceeds the limit of 1000")
        #expect(WebSocketProtocolError.invalidUTF8(atByte: 17).reason == "text message: invalid UTF-8 at byte 17")
        #expect(WebSocketProtocolError.unmaskedFrameFromClient(opcode: .ping).reason == "unmasked ping frame from client")
        #expect(WebSocketProtocolError.reservedOpcode(WebSocketOpcode(rawValue: 0xB)).reason == "reserved opcode 0xb")
        // A long detail is cut on a code point boundary: the reason is still valid UTF-8 (String round-trips it).
        let long = WebSocketProtocolError.corruptCompressedData(detail: String(repeating: "ü", count: 100)).reason
        #expect(long.utf8.count == 123 || long.utf8.count == 122)
        #expect(long.hasPrefix("corrupt compressed message: üü"))
        #expect(!long.contains("\u{FFFD}"))
    }
}
