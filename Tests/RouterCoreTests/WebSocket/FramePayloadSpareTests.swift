import Testing

@testable import RouterCore

/// Small payloads are unmasked into a connection's spare array: reused when nothing kept the last frame,
/// never overwritten while something does.
@Suite struct FramePayloadSpareTests {
    static let key: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

    /// A masked client text frame carrying `payload` (whole), and its parsed header.
    private func maskedFrame(_ payload: [UInt8]) throws -> (header: FrameHeader, bytes: [UInt8]) {
        var bytes: [UInt8] = [0x81]
        switch payload.count {
        case ..<126: bytes.append(0x80 | UInt8(payload.count))
        default: bytes += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let key = [Self.key.0, Self.key.1, Self.key.2, Self.key.3]
        bytes += key
        bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        var decoder = FrameDecoder(role: .server, maxFramePayload: 1 << 20)
        let header = try #require(try bytes.withUnsafeBytes { try decoder.decodeHeader($0) })
        return (header, bytes)
    }

    private func decode(_ payload: [UInt8], spare: inout [UInt8]) throws -> WebSocketFrame {
        let (header, bytes) = try maskedFrame(payload)
        return bytes.withUnsafeBytes { raw in
            FrameDecoder.frame(header, payload: UnsafeRawBufferPointer(rebasing: raw[header.size...]), spare: &spare)
        }
    }

    private func address(_ array: [UInt8]) -> UnsafeRawPointer? {
        array.withUnsafeBytes { $0.baseAddress }
    }

    @Test func aFrameLetGoLeavesItsStorageForTheNext() throws {
        var spare: [UInt8] = []
        var first: [UInt8]? = try decode(Array("hello, echo".utf8), spare: &spare).payload
        #expect(first == Array("hello, echo".utf8))
        #expect(spare == first)  // the payload is the spare's storage, not a copy
        let storage = address(spare)
        first = nil
        let second = try decode(Array("again".utf8), spare: &spare)
        #expect(second.payload == Array("again".utf8))
        #expect(address(spare) == storage)
    }

    @Test func aKeptPayloadIsNeverOverwritten() throws {
        var spare: [UInt8] = []
        let kept = try decode(Array("kept by a session".utf8), spare: &spare).payload
        let next = try decode(Array("the next message!".utf8), spare: &spare).payload
        #expect(kept == Array("kept by a session".utf8))
        #expect(next == Array("the next message!".utf8))
        #expect(address(kept) != address(next))
    }

    @Test func aLargePayloadGetsItsOwnArrayAndAShrunkSpare() throws {
        var spare: [UInt8] = []
        let large = (0..<(FrameDecoder.spareLimit + 1)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(try decode(large, spare: &spare).payload == large)
        #expect(spare.capacity == 0)
        _ = try decode(Array(repeating: 0x61, count: FrameDecoder.spareLimit), spare: &spare)
        #expect(try decode(Array("tiny".utf8), spare: &spare).payload == Array("tiny".utf8))
        #expect(spare.capacity < FrameDecoder.spareLimit)
    }
}
