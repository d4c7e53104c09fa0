import MemoryStore
import RouterCore
import Testing

@Suite("FrameDecoder")
struct FrameDecoderTests {
    let server = FrameDecoderVerifier(role: .server)
    let client = FrameDecoderVerifier(role: .client)
    let hello: [UInt8] = Array("Hello".utf8)

    // MARK: RFC 6455 §5.7 examples

    @Test func singleFrameUnmaskedText() {
        client.verify([hex("81 05 48 65 6c 6c 6f")], decodeTo: [WebSocketFrame(opcode: .text, payload: hello)])
    }

    @Test func singleFrameMaskedText() {
        server.verify(
            [hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")], decodeTo: [WebSocketFrame(opcode: .text, payload: hello)])
    }

    @Test func fragmentedUnmaskedText() {
        client.verify(
            [hex("01 03 48 65 6c"), hex("80 02 6c 6f")],
            decodeTo: [
                WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)),
                WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8)),
            ])
    }

    @Test func unmaskedPingAndMaskedPong() {
        client.verify([hex("89 05 48 65 6c 6c 6f")], decodeTo: [WebSocketFrame(opcode: .ping, payload: hello)])
        server.verify(
            [hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")], decodeTo: [WebSocketFrame(opcode: .pong, payload: hello)])
    }

    @Test func binary256BytesUses16BitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0) }
        client.verify([hex("82 7E 01 00") + payload], decodeTo: [WebSocketFrame(opcode: .binary, payload: payload)])
    }

    @Test func binary64KiBUses64BitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let input = hex("82 7F 00 00 00 00 00 01 00 00") + payload
        // Byte-at-a-time over 64 KiB re-parses a 10-byte header 65 546 times: cheap enough, and the point.
        client.verify([input], decodeTo: [WebSocketFrame(opcode: .binary, payload: payload)])
    }

    // MARK: Streams

    @Test func manyFramesInOneBufferAndAcrossSplits() {
        var rng = SplitMix64(seed: 7)
        var messages: [[UInt8]] = []
        var expected: [WebSocketFrame] = []
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 125, 126, 127, 300, 65535, 65536] {
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = (UInt8.random(in: 0...255, using: &rng), UInt8(0x5a), UInt8(0xff), UInt8(0x01))
            let frame = WebSocketFrame(opcode: length % 2 == 0 ? .binary : .text, payload: payload)
            messages.append(FrameEncoder.encode(frame, maskingKey: key))
            expected.append(frame)
            messages.append(FrameEncoder.encode(WebSocketFrame(opcode: .ping, payload: [UInt8(length & 0xff)]), maskingKey: key))
            expected.append(WebSocketFrame(opcode: .ping, payload: [UInt8(length & 0xff)]))
        }
        server.verify(messages, decodeTo: expected)
    }

    @Test func unmaskingMatchesTheDefinitionAtEveryLengthAndKey() throws {
        var rng = SplitMix64(seed: 42)
        for length in 0...40 {
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = [UInt8](repeating: 0, count: 4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // RFC 6455 §5.3 by the letter: j = i MOD 4, transformed-octet-i = original-octet-i XOR masking-key-octet-j.
            let masked = payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
            let input = [0x82, 0x80 | UInt8(length)] + key + masked
            var decoder = FrameDecoder(role: .server, maxFramePayload: 1000)
            let result = try #require(try decoder.decode(array: input))
            #expect(result.frame.payload == payload, "length \(length)")
            #expect(result.consumed == input.count)
        }
    }

    @Test func returnsNilUntilTheWholeFrameIsThereAndLeavesFollowingBytes() throws {
        let frame = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
        var decoder = FrameDecoder(role: .server, maxFramePayload: 100)
        for end in 0..<frame.count {
            let result = try decoder.decode(array: Array(frame[..<end]))
            #expect(result == nil, "prefix of \(end) bytes")
        }
        let withNext = frame + hex("89 00")
        let result = try #require(try decoder.decode(array: withNext))
        #expect(result.consumed == frame.count)
    }

    @Test func aHugeDeclaredLengthUnderAHugeLimitDoesNotOverflow() throws {
        // Masked binary frame declaring 2^63 - 1 bytes; the limit lets it through the header checks.
        var decoder = FrameDecoder(role: .server, maxFramePayload: .max)
        let header: [UInt8] = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(try decoder.decode(array: header) == nil)
        #expect(decoder.pendingFrameBytes == .max)
        #expect(try decoder.decode(array: header + [1, 2, 3, 4, 5]) == nil)
        #expect(decoder.pendingFrameBytes == .max)
    }

    @Test func frameOfExactlyTheLimitIsAccepted() {
        let verifier = FrameDecoderVerifier(role: .client, maxFramePayload: 1000)
        let payload = [UInt8](repeating: 0x61, count: 1000)
        verifier.verify([hex("82 7E 03 E8") + payload], decodeTo: [WebSocketFrame(opcode: .binary, payload: payload)])
    }

    @Test func rsv1AcceptedOnDataFramesOnceNegotiated() {
        var verifier = FrameDecoderVerifier(role: .client)
        verifier.allowsRSV1 = true
        verifier.verify(
            [hex("c1 02 f2 48")], decodeTo: [WebSocketFrame(rsv1: true, opcode: .text, payload: [0xf2, 0x48])])
    }

    // MARK: Protocol errors, each at the byte that reveals it

    @Test func reservedBitsWithoutExtension() {
        client.verify(
            hex("c1 05 48 65 6c 6c 6f"),
            failsWith: .reservedBitsSet(rsv1: true, rsv2: false, rsv3: false, opcode: .text), atByte: 1)
        client.verify(
            hex("a2 00"), failsWith: .reservedBitsSet(rsv1: false, rsv2: true, rsv3: false, opcode: .binary), atByte: 1)
        client.verify(
            hex("90 00"), failsWith: .reservedBitsSet(rsv1: false, rsv2: false, rsv3: true, opcode: .continuation),
            atByte: 1)
        // RSV2 stays reserved even when permessage-deflate allows RSV1.
        var deflate = FrameDecoderVerifier(role: .client)
        deflate.allowsRSV1 = true
        deflate.verify(
            hex("e1 00"), failsWith: .reservedBitsSet(rsv1: false, rsv2: true, rsv3: false, opcode: .text), atByte: 1)
        #expect(WebSocketProtocolError.reservedBitsSet(rsv1: true, rsv2: false, rsv3: false, opcode: .text).closeCode == .protocolError)
    }

    @Test(arguments: [UInt8(0x3), 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF])
    func reservedOpcodes(_ raw: UInt8) {
        client.verify([0x80 | raw, 0x00], failsWith: .reservedOpcode(WebSocketOpcode(rawValue: raw)), atByte: 1)
        #expect(WebSocketProtocolError.reservedOpcode(WebSocketOpcode(rawValue: raw)).closeCode == .protocolError)
    }

    @Test func maskingMustMatchTheRole() {
        server.verify(hex("81 05 48 65 6c 6c 6f"), failsWith: .unmaskedFrameFromClient(opcode: .text), atByte: 2)
        client.verify(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), failsWith: .maskedFrameFromServer(opcode: .text), atByte: 2)
        #expect(WebSocketProtocolError.unmaskedFrameFromClient(opcode: .text).closeCode == .protocolError)
        #expect(WebSocketProtocolError.maskedFrameFromServer(opcode: .text).closeCode == .protocolError)
    }

    @Test func controlFramesMustNotBeFragmented() {
        client.verify(hex("09 00"), failsWith: .fragmentedControlFrame(opcode: .ping), atByte: 1)
        client.verify(hex("08 00"), failsWith: .fragmentedControlFrame(opcode: .close), atByte: 1)
        #expect(WebSocketProtocolError.fragmentedControlFrame(opcode: .ping).closeCode == .protocolError)
    }

    @Test func controlFramesOver125BytesFailAtTheLengthByte() {
        client.verify(hex("89 7E 00 7E") + [UInt8](repeating: 0, count: 126), failsWith: .controlFrameTooLong(opcode: .ping), atByte: 2)
        client.verify(hex("8a 7F 00 00 00 00 00 00 00 7E"), failsWith: .controlFrameTooLong(opcode: .pong), atByte: 2)
        server.verify(hex("88 FE 00 7E"), failsWith: .controlFrameTooLong(opcode: .close), atByte: 2)
        #expect(WebSocketProtocolError.controlFrameTooLong(opcode: .ping).closeCode == .protocolError)
        // 125 is still fine.
        let payload = [UInt8](repeating: 0x70, count: 125)
        client.verify([hex("89 7D") + payload], decodeTo: [WebSocketFrame(opcode: .ping, payload: payload)])
    }

    @Test func rsv1OnControlFrames() {
        var deflate = FrameDecoderVerifier(role: .client)
        deflate.allowsRSV1 = true
        deflate.verify(hex("c9 00"), failsWith: .compressedControlFrame(opcode: .ping), atByte: 1)
        client.verify(hex("c9 00"), failsWith: .reservedBitsSet(rsv1: true, rsv2: false, rsv3: false, opcode: .ping), atByte: 1)
        #expect(WebSocketProtocolError.compressedControlFrame(opcode: .ping).closeCode == .protocolError)
    }

    @Test func sixtyFourBitLengthWithMostSignificantBitSet() {
        client.verify(hex("82 7F 80 00 00 00 00 00 00 01"), failsWith: .payloadLengthMostSignificantBitSet, atByte: 10)
        #expect(WebSocketProtocolError.payloadLengthMostSignificantBitSet.closeCode == .protocolError)
    }

    @Test func oversizedFrameFailsWhenOnlyItsHeaderHasArrived() {
        let small = FrameDecoderVerifier(role: .client, maxFramePayload: 1000)
        // 16-bit length 1001: fails at the 4th byte, with no payload byte sent at all.
        small.verify(hex("82 7E 03 E9"), failsWith: .frameTooLarge(length: 1001, limit: 1000), atByte: 4)
        // 64-bit length of 4 GiB: fails at the 10th byte.
        small.verify(
            hex("82 7F 00 00 00 01 00 00 00 00"), failsWith: .frameTooLarge(length: 1 << 32, limit: 1000), atByte: 10)
        // Server role: fails before the masking key arrives.
        let smallServer = FrameDecoderVerifier(role: .server, maxFramePayload: 100)
        smallServer.verify(hex("81 FE 00 65 37 fa 21 3d"), failsWith: .frameTooLarge(length: 101, limit: 100), atByte: 4)
        smallServer.verify(hex("81 E5"), failsWith: .frameTooLarge(length: 101, limit: 100), atByte: 2)
        #expect(WebSocketProtocolError.frameTooLarge(length: 1001, limit: 1000).closeCode == .messageTooBig)
    }
}
