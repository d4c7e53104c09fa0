@testable import RouterCore
import Testing

@Suite("IncomingFrame: a large frame's payload unmasked straight into its array, read by read")
struct IncomingFrameTests {
    private func header(of wire: [UInt8]) throws -> FrameHeader {
        var decoder = FrameDecoder(role: .server, maxFramePayload: 64 << 20)
        return try #require(try wire.withUnsafeBytes { try decoder.decodeHeader($0) })
    }

    @Test func everySplitOfAMaskedPayloadGivesTheFrameTheWholeDecoderGives() throws {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 3, 7, 8, 9, 31, 1000, 70_000] {
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let key = (UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255))
            let wire = FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: payload), maskingKey: key)
            let header = try header(of: wire)
            let body = Array(wire[header.size...])
            for _ in 0..<20 {
                var frame = IncomingFrame(header: header, firstChunk: 1)
                var offset = 0
                while offset < body.count {
                    let chunk = Int.random(in: 1...max(1, body.count - offset), using: &generator)
                    let taken = body[offset..<(offset + chunk)].withUnsafeBytes { frame.take($0) }
                    #expect(taken == chunk)
                    offset += chunk
                }
                #expect(frame.remaining == 0)
                #expect(frame.frame() == WebSocketFrame(opcode: .binary, payload: payload), "length \(length)")
            }
        }
    }

    @Test func itTakesNoMoreThanThePayloadAndLeavesTheNextFrame() throws {
        let first = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: Array("hello".utf8)), maskingKey: (1, 2, 3, 4))
        let second = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: Array("next".utf8)), maskingKey: (5, 6, 7, 8))
        let header = try header(of: first)
        var frame = IncomingFrame(header: header, firstChunk: 5)
        let rest = Array(first[header.size...]) + second
        #expect(rest.withUnsafeBytes { frame.take($0) } == 5)
        #expect(frame.frame().payload == Array("hello".utf8))
    }

    @Test func aDeclaredHugeFrameReservesInProportionToWhatArrived() throws {
        let wire: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0x02, 0, 0, 0, 9, 9, 9, 9]  // 32 MiB declared, masked
        let header = try header(of: wire)
        #expect(header.payloadLength == 32 << 20)
        var frame = IncomingFrame(header: header, firstChunk: 100)
        _ = [UInt8](repeating: 7, count: 100).withUnsafeBytes { frame.take($0) }
        #expect(frame.payload.capacity < 128 << 10, "reserved \(frame.payload.capacity) bytes for 100 received")
        #expect(frame.remaining == (32 << 20) - 100)
    }

    @Test func aFrameThatCameLargelyWithItsHeaderIsReservedWhole() {
        #expect(IncomingFrame.reservation(payloadLength: 1 << 20, firstChunk: 262_130) == 1 << 20)
        #expect(IncomingFrame.reservation(payloadLength: 16 << 20, firstChunk: 1024) == 64 << 10)
        #expect(IncomingFrame.reservation(payloadLength: 16 << 20, firstChunk: 1 << 20) == 8 << 20)
        #expect(IncomingFrame.reservation(payloadLength: 100, firstChunk: 10) == 100)
        #expect(IncomingFrame.reservation(payloadLength: .max, firstChunk: .max / 2) == .max)
    }

    @Test func maskingFromAnyKeyOffsetMatchesMaskingFromTheStart() {
        let key: (UInt8, UInt8, UInt8, UInt8) = (0x11, 0x22, 0x33, 0x44)
        let source = (0..<41).map { UInt8($0) }
        var whole = [UInt8](repeating: 0, count: source.count)
        source.withUnsafeBytes { input in
            whole.withUnsafeMutableBytes { WebSocketMasking.apply(key: key, from: input, to: $0) }
        }
        for start in 0..<source.count {
            var tail = [UInt8](repeating: 0, count: source.count - start)
            source[start...].withUnsafeBytes { input in
                tail.withUnsafeMutableBytes { WebSocketMasking.apply(key: key, keyOffset: start, from: input, to: $0) }
            }
            #expect(tail == Array(whole[start...]), "from offset \(start)")
        }
    }

    @Test func maskingAgreesWithTheRFCsDefinitionAtEveryLength() {
        let key: (UInt8, UInt8, UInt8, UInt8) = (0xA1, 0x5B, 0x07, 0xE3)
        let keyBytes = [key.0, key.1, key.2, key.3]
        for length in 0..<140 {
            let source = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            // RFC 6455 §5.3: octet i is XORed with octet i mod 4 of the key.
            let expected = source.indices.map { source[$0] ^ keyBytes[$0 % 4] }
            var masked = [UInt8](repeating: 0, count: length)
            source.withUnsafeBytes { input in
                masked.withUnsafeMutableBytes { WebSocketMasking.apply(key: key, from: input, to: $0) }
            }
            #expect(masked == expected, "length \(length)")
        }
    }
}
