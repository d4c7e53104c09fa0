import MemoryStore
import RouterCore
import Testing

/// Drives a ``FrameDecoder`` the way a connection does: input arrives in chunks, the caller keeps the
/// unconsumed bytes and calls `decode` until it returns `nil`. Modelled on the idea of NIO's
/// `ByteToMessageDecoderVerifier`: the same input must give the same frames however it is split.
struct FrameDecoderVerifier {
    var role: WebSocketRole
    var maxFramePayload = 1 << 20
    var allowsRSV1 = false

    /// What one run produced.
    struct Run {
        var frames: [WebSocketFrame] = []
        /// The error thrown, if any, and how many input bytes had been fed when it was thrown.
        var error: (WebSocketProtocolError, bytesFed: Int)?
        /// Bytes left over, not yet forming a frame.
        var leftover = 0
    }

    /// Feeds `input` in chunks of `chunkSize` bytes (the last one may be shorter).
    func run(_ input: [UInt8], chunkSize: Int) -> Run {
        var decoder = FrameDecoder(role: role, maxFramePayload: maxFramePayload)
        decoder.allowsRSV1 = allowsRSV1
        var pending: [UInt8] = []
        var result = Run()
        var fed = 0
        while fed < input.count {
            let end = min(input.count, fed + chunkSize)
            pending.append(contentsOf: input[fed..<end])
            fed = end
            do throws(WebSocketProtocolError) {
                while let (frame, consumed) = try decoder.decode(array: pending) {
                    #expect(consumed > 0 && consumed <= pending.count)
                    result.frames.append(frame)
                    pending.removeFirst(consumed)
                }
            } catch {
                result.error = (error, fed)
                return result
            }
        }
        result.leftover = pending.count
        return result
    }

    /// Asserts that `frames`, given as separate wire messages, decode to `expected`: each message whole,
    /// all concatenated into one buffer, then the concatenation one byte at a time and in uneven chunks.
    func verify(
        _ messages: [[UInt8]], decodeTo expected: [WebSocketFrame],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var wholeFrames: [WebSocketFrame] = []
        for message in messages {
            let run = run(message, chunkSize: max(1, message.count))
            #expect(run.error == nil, "whole message: \(String(describing: run.error))", sourceLocation: sourceLocation)
            #expect(run.leftover == 0, "whole message left bytes over", sourceLocation: sourceLocation)
            wholeFrames += run.frames
        }
        #expect(wholeFrames == expected, "each message whole", sourceLocation: sourceLocation)

        let all = messages.flatMap { $0 }
        for chunkSize in [max(1, all.count), 1, 2, 3, 7, 64] {
            let run = run(all, chunkSize: chunkSize)
            #expect(run.error == nil, "chunks of \(chunkSize): \(String(describing: run.error))", sourceLocation: sourceLocation)
            #expect(run.leftover == 0, "chunks of \(chunkSize) left bytes over", sourceLocation: sourceLocation)
            #expect(run.frames == expected, "chunks of \(chunkSize)", sourceLocation: sourceLocation)
        }
    }

    /// Asserts that `input`, fed one byte at a time, fails with `expected` exactly when byte number
    /// `failsAtByte` (1-based) arrives, and that the same error comes when it is fed whole.
    func verify(
        _ input: [UInt8], failsWith expected: WebSocketProtocolError, atByte failsAtByte: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let dripped = run(input, chunkSize: 1)
        #expect(dripped.frames.isEmpty, sourceLocation: sourceLocation)
        #expect(dripped.error?.0 == expected, sourceLocation: sourceLocation)
        #expect(dripped.error?.bytesFed == failsAtByte, "failed after the wrong number of bytes", sourceLocation: sourceLocation)
        let whole = run(input, chunkSize: input.count)
        #expect(whole.error?.0 == expected, "fed whole", sourceLocation: sourceLocation)
    }
}

extension FrameDecoder {
    /// `decode(_:)` over an array's bytes, keeping the typed error (`withUnsafeBytes` only rethrows `any Error`).
    mutating func decode(array: [UInt8]) throws(WebSocketProtocolError) -> (frame: WebSocketFrame, consumed: Int)? {
        var copy = self
        let result = array.withUnsafeBytes { bytes in
            Result { () throws(WebSocketProtocolError) in try copy.decode(bytes) }
        }
        self = copy
        return try result.get()
    }
}

/// Bytes from a hex string such as "81 05 48 65".
func hex(_ text: String) -> [UInt8] {
    text.split(separator: " ").map { UInt8($0, radix: 16)! }
}
