import MemoryStore
import RouterCore
import Testing

@Suite("FrameEncoder")
struct FrameEncoderTests {
    let hello: [UInt8] = Array("Hello".utf8)
    let key: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xfa, 0x21, 0x3d)

    // MARK: RFC 6455 §5.7 examples

    @Test func singleFrameUnmaskedText() {
        #expect(FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: hello)) == hex("81 05 48 65 6c 6c 6f"))
    }

    @Test func singleFrameMaskedText() {
        #expect(
            FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: hello), maskingKey: key)
                == hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    }

    @Test func fragmentedUnmaskedText() {
        #expect(
            FrameEncoder.encode(WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)))
                == hex("01 03 48 65 6c"))
        #expect(FrameEncoder.encode(WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8))) == hex("80 02 6c 6f"))
    }

    @Test func unmaskedPingAndMaskedPong() {
        #expect(FrameEncoder.encode(WebSocketFrame(opcode: .ping, payload: hello)) == hex("89 05 48 65 6c 6c 6f"))
        #expect(
            FrameEncoder.encode(WebSocketFrame(opcode: .pong, payload: hello), maskingKey: key)
                == hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"))
    }

    @Test func binary256And64KiBHeaders() {
        let small = [UInt8](repeating: 0xab, count: 256)
        let encodedSmall = FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: small))
        #expect(Array(encodedSmall.prefix(4)) == hex("82 7E 01 00"))
        #expect(Array(encodedSmall.dropFirst(4)) == small)

        let large = [UInt8](repeating: 0xcd, count: 65536)
        let encodedLarge = FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: large))
        #expect(Array(encodedLarge.prefix(10)) == hex("82 7F 00 00 00 00 00 01 00 00"))
        #expect(encodedLarge.count == 10 + 65536)
        #expect(Array(encodedLarge.dropFirst(10)) == large)
    }

    // MARK: Header sizes and bits

    @Test(arguments: [
        (0, false, 2), (125, false, 2), (126, false, 4), (65535, false, 4), (65536, false, 10), (1 << 40, false, 10),
        (0, true, 6), (125, true, 6), (126, true, 8), (65536, true, 14),
    ])
    func headerSize(length: Int, masked: Bool, expected: Int) {
        #expect(FrameEncoder.headerSize(payloadLength: length, masked: masked) == expected)
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536])
    func encodedSizeIsHeaderPlusPayload(length: Int) {
        let payload = [UInt8](repeating: 1, count: length)
        for masked in [false, true] {
            let bytes = FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: payload), maskingKey: masked ? key : nil)
            #expect(bytes.count == FrameEncoder.headerSize(payloadLength: length, masked: masked) + length)
        }
    }

    @Test func appendsToAnExistingBufferWithFinAndRSV1() {
        var buffer: [UInt8] = [0xEE]
        let payload: [UInt8] = [1, 2, 3]
        payload.withUnsafeBytes { bytes in
            FrameEncoder.encode(opcode: .binary, fin: false, rsv1: true, payload: bytes, into: &buffer)
        }
        #expect(buffer == [0xEE, 0x42, 0x03, 1, 2, 3])
        Array<UInt8>().withUnsafeBytes { bytes in
            FrameEncoder.encode(opcode: .close, payload: bytes, maskingKey: key, into: &buffer)
        }
        #expect(buffer == [0xEE, 0x42, 0x03, 1, 2, 3, 0x88, 0x80, 0x37, 0xfa, 0x21, 0x3d])
    }

    @Test func frameConvenienceWritesAllReservedBits() {
        let frame = WebSocketFrame(fin: false, rsv1: true, rsv2: true, rsv3: true, opcode: .text, payload: [])
        #expect(FrameEncoder.encode(frame) == [0x71, 0x00])
    }

    @Test func maskedRoundTripThroughTheDecoder() throws {
        var rng = SplitMix64(seed: 3)
        for length in [0, 1, 3, 8, 13, 125, 126, 1000, 65535, 65536, 70001] {
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let frameKey = (UInt8.random(in: 0...255, using: &rng), UInt8(1), UInt8(2), UInt8.random(in: 0...255, using: &rng))
            let bytes = FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: payload), maskingKey: frameKey)
            if length >= 4 { #expect(Array(bytes.suffix(length)) != payload, "the payload was not masked") }
            var decoder = FrameDecoder(role: .server, maxFramePayload: 1 << 20)
            let decoded = try #require(try decoder.decode(array: bytes))
            #expect(decoded.frame.payload == payload)
            #expect(decoded.consumed == bytes.count)
        }
    }

    // MARK: Close payload

    @Test func closePayloadHasCodeThenReason() {
        #expect(FrameEncoder.closePayload(code: .normal, reason: "bye") == [0x03, 0xE8] + Array("bye".utf8))
        #expect(FrameEncoder.closePayload(code: .messageTooBig, reason: "") == [0x03, 0xF1])
        #expect(FrameEncoder.closePayload(code: .other(4001), reason: "") == [0x0F, 0xA1])
    }

    @Test func closeReasonIsTruncatedTo123BytesOnACodePointBoundary() {
        // 122 ASCII bytes then "é" (2 bytes): 124 bytes, and byte 123 is in the middle of "é".
        let reason = String(repeating: "a", count: 122) + "é" + "tail"
        let payload = FrameEncoder.closePayload(code: .goingAway, reason: reason)
        #expect(payload.count == 2 + 122)
        #expect(Array(payload.dropFirst(2)) == Array(String(repeating: "a", count: 122).utf8))

        // Exactly 123 bytes stay whole; a 4-byte code point at 120…123 is dropped whole.
        let exact = String(repeating: "b", count: 123)
        #expect(FrameEncoder.closePayload(code: .normal, reason: exact).count == 125)
        let emoji = String(repeating: "c", count: 120) + "😀"
        let cut = FrameEncoder.closePayload(code: .normal, reason: emoji)
        #expect(cut.count == 2 + 120)
        var validator = UTF8Validator()
        let reasonAccepted = validator.feed(Array(cut.dropFirst(2)))
        #expect(reasonAccepted && validator.isAtCharacterBoundary)
    }
}
