import RouterCore
import Testing

/// A stand-in for the zlib inflater: "decompresses" each frame by reversing its bytes, records its calls,
/// and can be told to fail or to ignore its limit.
final class ReversingInflater: MessageInflating {
    struct Call: Equatable {
        var payload: [UInt8]
        var isFinal: Bool
        var limit: Int
    }
    var calls: [Call] = []
    var failure: InflateFailure?
    /// Repeats the output this many times, to play a decompression bomb.
    var expansion = 1
    /// Whether to honour `limit` by throwing `.tooLarge` (a correct inflater does).
    var honoursLimit = true

    func inflate(_ payload: UnsafeRawBufferPointer, isFinal: Bool, limit: Int) throws(InflateFailure) -> [UInt8] {
        calls.append(Call(payload: Array(payload), isFinal: isFinal, limit: limit))
        if let failure { throw failure }
        let output = Array(repeatElement(Array(payload.reversed()), count: expansion).joined())
        if honoursLimit && output.count > limit { throw .tooLarge(limit: limit) }
        return output
    }
}

@Suite("MessageAssembler")
struct MessageAssemblerTests {
    func text(_ string: String, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: .text, payload: Array(string.utf8))
    }
    func continuation(_ bytes: [UInt8], fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: .continuation, payload: bytes)
    }
    func close(_ payload: [UInt8]) -> WebSocketFrame { WebSocketFrame(opcode: .close, payload: payload) }

    /// Pushes `frames` and returns the events, or the first error with the index of the frame that caused it.
    func run(
        _ frames: [WebSocketFrame], maxMessageBytes: Int = 1 << 16, inflater: (any MessageInflating)? = nil
    ) -> (events: [MessageAssembler.Event?], error: (WebSocketProtocolError, frameIndex: Int)?) {
        var assembler = MessageAssembler(maxMessageBytes: maxMessageBytes, inflater: inflater)
        var events: [MessageAssembler.Event?] = []
        for (index, frame) in frames.enumerated() {
            do throws(WebSocketProtocolError) {
                events.append(try assembler.push(frame))
            } catch {
                #expect(!assembler.isInsideMessage, "buffers released after the error")
                return (events, (error, index))
            }
        }
        return (events, nil)
    }

    // MARK: Reassembly

    @Test func singleFrameMessages() {
        let result = run([text("Hello"), WebSocketFrame(opcode: .binary, payload: [0, 0xff])])
        #expect(result.error == nil)
        #expect(result.events == [.message(.text(Array("Hello".utf8))), .message(.binary([0, 0xff]))])
    }

    @Test func fragmentedTextWithAnInterleavedPing() {
        // RFC 6455 §5.4 / §5.7: "Hel" + "lo", with a ping (and a pong) between the fragments.
        let result = run([
            text("Hel", fin: false),
            WebSocketFrame(opcode: .ping, payload: Array("Hello".utf8)),
            continuation(Array("l".utf8), fin: false),
            WebSocketFrame(opcode: .pong, payload: [1]),
            continuation(Array("o".utf8)),
        ])
        #expect(result.error == nil)
        #expect(
            result.events == [
                nil, .ping(Array("Hello".utf8)), nil, .pong([1]), .message(.text(Array("Hello".utf8))),
            ])
    }

    @Test func fragmentedBinaryAndEmptyFragments() {
        let result = run([
            WebSocketFrame(fin: false, opcode: .binary, payload: []),
            continuation([1, 2], fin: false),
            continuation([]),
            text(""),
        ])
        #expect(result.error == nil)
        #expect(result.events == [nil, nil, .message(.binary([1, 2])), .message(.text([]))])
    }

    @Test func continuationWithoutAStartedMessage() {
        let result = run([continuation([1])])
        #expect(result.error?.0 == .continuationWithoutMessage)
        #expect(result.error?.0.closeCode == .protocolError)
        // Also after a message has completed.
        #expect(run([text("a"), continuation([1])]).error?.frameIndex == 1)
    }

    @Test func newDataMessageBeforeThePreviousFinished() {
        let result = run([text("a", fin: false), WebSocketFrame(opcode: .binary, payload: [])])
        #expect(result.error?.0 == .newMessageBeforePreviousFinished(opcode: .binary))
        #expect(result.error?.0.closeCode == .protocolError)
    }

    @Test func rsv1WithoutInflaterOrOnAContinuation() {
        let withoutInflater = run([text("a", rsv1: true)])
        #expect(withoutInflater.error?.0 == .compressionNotNegotiated(opcode: .text))
        #expect(withoutInflater.error?.0.closeCode == .protocolError)

        let onContinuation = run([text("a", fin: false, rsv1: true), continuation([1], rsv1: true)], inflater: ReversingInflater())
        #expect(onContinuation.error?.0 == .compressedContinuationFrame)
        #expect(onContinuation.error?.frameIndex == 1)
        #expect(onContinuation.error?.0.closeCode == .protocolError)
    }

    @Test func stateIsDiscardedAfterAnError() throws {
        var assembler = MessageAssembler(maxMessageBytes: 4)
        _ = try assembler.push(text("abc", fin: false))
        #expect(assembler.isInsideMessage)
        #expect(throws: WebSocketProtocolError.messageTooLarge(limit: 4)) { try assembler.push(continuation([1, 2])) }
        #expect(!assembler.isInsideMessage)
        // Nothing of the old message is left: a continuation now has no message to continue.
        #expect(throws: WebSocketProtocolError.continuationWithoutMessage) { try assembler.push(continuation([1])) }
    }

    // MARK: Size limit

    @Test func messageSizeLimit() {
        #expect(run([WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 0, count: 10))], maxMessageBytes: 10).error == nil)
        let single = run([WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 0, count: 11))], maxMessageBytes: 10)
        #expect(single.error?.0 == .messageTooLarge(limit: 10))
        #expect(single.error?.0.closeCode == .messageTooBig)
        // Fragmented: fails at the fragment that crosses the limit, not at the end.
        let fragmented = run(
            [text("aaaa", fin: false), continuation(Array("aaaa".utf8), fin: false), continuation(Array("aaa".utf8), fin: false), continuation([])],
            maxMessageBytes: 10)
        #expect(fragmented.error?.0 == .messageTooLarge(limit: 10))
        #expect(fragmented.error?.frameIndex == 2)
    }

    // MARK: UTF-8

    @Test func textSplitInsideACodePointAcrossFragments() {
        let euro: [UInt8] = [0xe2, 0x82, 0xac]
        let result = run([
            WebSocketFrame(fin: false, opcode: .text, payload: [0x61, euro[0]]),
            continuation([euro[1]], fin: false),
            continuation([euro[2], 0x62]),
        ])
        #expect(result.error == nil)
        #expect(result.events.last == .message(.text([0x61] + euro + [0x62])))
    }

    @Test func invalidUTF8FailsInTheFirstFragment() {
        // The first, non-final fragment already holds an invalid byte: fail there, before the message completes.
        let result = run([
            WebSocketFrame(fin: false, opcode: .text, payload: [0x61, 0x62, 0xed, 0xa0, 0x80]),
            continuation(Array("never read".utf8)),
        ])
        #expect(result.error?.0 == .invalidUTF8(atByte: 3))
        #expect(result.error?.frameIndex == 0)
        #expect(result.error?.0.closeCode == .invalidPayload)
    }

    @Test func invalidUTF8OffsetCountsEarlierFragments() {
        let result = run([text("abcd", fin: false), continuation([0x65, 0xc0, 0xaf])])
        #expect(result.error?.0 == .invalidUTF8(atByte: 5))
        #expect(result.error?.frameIndex == 1)
    }

    @Test func textEndingInsideACodePoint() {
        let single = run([WebSocketFrame(opcode: .text, payload: [0x61, 0xe2, 0x82])])
        #expect(single.error?.0 == .truncatedUTF8(length: 3))
        #expect(single.error?.0.closeCode == .invalidPayload)
        let fragmented = run([text("a", fin: false), continuation([0xf0, 0x9f])])
        #expect(fragmented.error?.0 == .truncatedUTF8(length: 3))
    }

    @Test func binaryIsNotValidated() {
        let result = run([WebSocketFrame(opcode: .binary, payload: [0xc0, 0xaf, 0xff])])
        #expect(result.error == nil)
        #expect(result.events == [.message(.binary([0xc0, 0xaf, 0xff]))])
    }

    // MARK: Close frames

    @Test func closeWithoutBodyAndWithCodeAndReason() {
        let result = run([
            close([]),
            close(FrameEncoder.closePayload(code: .normal, reason: "bye ✓")),
            close(FrameEncoder.closePayload(code: .other(3000), reason: "")),
            close(FrameEncoder.closePayload(code: .other(4999), reason: "")),
        ])
        #expect(result.error == nil)
        #expect(
            result.events == [
                .close(code: nil, reason: ""), .close(code: .normal, reason: "bye ✓"),
                .close(code: .other(3000), reason: ""), .close(code: .other(4999), reason: ""),
            ])
    }

    @Test func closeWithOneByteBody() {
        let result = run([close([0x03])])
        #expect(result.error?.0 == .closePayloadTooShort)
        #expect(result.error?.0.closeCode == .protocolError)
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
    func closeWithACodeNotAllowedOnTheWire(_ code: UInt16) {
        let result = run([close([UInt8(code >> 8), UInt8(code & 0xff)])])
        #expect(result.error?.0 == .invalidCloseCode(code))
        #expect(result.error?.0.closeCode == .protocolError)
    }

    @Test func closeWithANonUTF8Reason() {
        let invalid = run([close([0x03, 0xe8, 0x61, 0xff])])
        #expect(invalid.error?.0 == .invalidCloseReason(atByte: 1))
        #expect(invalid.error?.0.closeCode == .invalidPayload)
        let truncated = run([close([0x03, 0xe8, 0xe2, 0x82])])
        #expect(truncated.error?.0 == .invalidCloseReason(atByte: 2))
    }

    // MARK: Compressed messages (through a fake inflater)

    @Test func compressedMessageIsInflatedFrameByFrameWithTheRemainingBudget() {
        let inflater = ReversingInflater()
        let result = run(
            [
                text("cba", fin: false, rsv1: true),
                WebSocketFrame(opcode: .ping, payload: []),
                continuation(Array("fed".utf8)),
                text("plain"),
            ], maxMessageBytes: 100, inflater: inflater)
        #expect(result.error == nil)
        #expect(result.events == [nil, .ping([]), .message(.text(Array("abcdef".utf8))), .message(.text(Array("plain".utf8)))])
        #expect(
            inflater.calls == [
                .init(payload: Array("cba".utf8), isFinal: false, limit: 100),
                .init(payload: Array("fed".utf8), isFinal: true, limit: 97),
            ])
    }

    @Test func inflaterFailuresMapToCloseCodes() {
        let corrupt = ReversingInflater()
        corrupt.failure = .corrupt(detail: "invalid stored block lengths")
        let corruptResult = run([WebSocketFrame(rsv1: true, opcode: .binary, payload: [1])], inflater: corrupt)
        #expect(corruptResult.error?.0 == .corruptCompressedData(detail: "invalid stored block lengths"))
        #expect(corruptResult.error?.0.closeCode == .invalidPayload)

        let bomb = ReversingInflater()
        bomb.expansion = 10
        let bombResult = run(
            [WebSocketFrame(fin: false, rsv1: true, opcode: .binary, payload: [1, 2, 3]), continuation([4, 5, 6])],
            maxMessageBytes: 50, inflater: bomb)
        #expect(bombResult.error?.0 == .messageTooLarge(limit: 50))
        #expect(bombResult.error?.0.closeCode == .messageTooBig)
        #expect(bombResult.error?.frameIndex == 1)
        #expect(bomb.calls.map(\.limit) == [50, 20])
    }

    @Test func anInflaterIgnoringItsLimitIsStillCaught() {
        let careless = ReversingInflater()
        careless.expansion = 10
        careless.honoursLimit = false
        let result = run([WebSocketFrame(rsv1: true, opcode: .binary, payload: [1, 2])], maxMessageBytes: 19, inflater: careless)
        #expect(result.error?.0 == .messageTooLarge(limit: 19))
    }

    @Test func inflatedTextIsValidatedAsItArrives() {
        // The first frame inflates to "a" + ED A0 (a surrogate's start): refused at that frame.
        let result = run(
            [WebSocketFrame(fin: false, rsv1: true, opcode: .text, payload: [0xa0, 0xed, 0x61]), continuation([])],
            inflater: ReversingInflater())
        #expect(result.error?.0 == .invalidUTF8(atByte: 2))
        #expect(result.error?.frameIndex == 0)
        #expect(result.error?.0.closeCode == .invalidPayload)
    }
}
