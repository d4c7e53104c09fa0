/// A frame's header as ``FrameDecoder`` parsed and checked it (RFC 6455 §5.2): everything but the payload.
struct FrameHeader {
    var fin: Bool
    var rsv1: Bool
    var rsv2: Bool
    var rsv3: Bool
    var opcode: WebSocketOpcode
    /// The client's masking key; `nil` for an unmasked (server-sent) frame.
    var maskingKey: (UInt8, UInt8, UInt8, UInt8)?
    /// The payload's length in bytes, within the decoder's limit.
    var payloadLength: Int
    /// The header's own length in bytes, masking key included.
    var size: Int

    /// The frame this header starts, with its unmasked `payload`.
    func frame(payload: [UInt8]) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode, payload: payload)
    }
}

/// A frame whose header is parsed and whose payload is still arriving, read by read.
///
/// Each read's bytes are appended to the payload and unmasked in place, so a large frame is copied once
/// from the loop's read buffer into its final array, instead of being collected raw, then copied again to
/// unmask it. The array's first reservation is in proportion to the bytes that came with the header
/// (``reservation(payloadLength:firstChunk:)``), then it grows as they arrive: a peer that declares a large
/// frame and sends little of it does not make the server reserve the declared size.
struct IncomingFrame {
    let header: FrameHeader
    private(set) var payload: [UInt8] = []

    /// Starts the frame; `firstChunk` is how many payload bytes arrived with its header.
    init(header: FrameHeader, firstChunk: Int) {
        self.header = header
        payload.reserveCapacity(Self.reservation(payloadLength: header.payloadLength, firstChunk: firstChunk))
    }

    /// The whole payload when it is within 8 times what came with the header (a 1 MiB frame whose first read
    /// brought 256 KiB is reserved once), else 8 times that, and at least 64 KiB.
    static func reservation(payloadLength: Int, firstChunk: Int) -> Int {
        let (scaled, overflow) = firstChunk.multipliedReportingOverflow(by: 8)
        return min(payloadLength, max(overflow ? .max : scaled, 64 << 10))
    }

    /// Payload bytes still to come.
    var remaining: Int { header.payloadLength - payload.count }

    /// Takes as many of `bytes` as the payload still needs; returns how many it took.
    mutating func take(_ bytes: UnsafeRawBufferPointer) -> Int {
        let taken = min(remaining, bytes.count)
        guard taken > 0 else { return 0 }
        let start = payload.count
        payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<taken]))
        if let key = header.maskingKey {
            payload.withUnsafeMutableBytes { stored in
                let region = UnsafeMutableRawBufferPointer(rebasing: stored[start..<(start + taken)])
                WebSocketMasking.apply(key: key, keyOffset: start, from: UnsafeRawBufferPointer(region), to: region)
            }
        }
        return taken
    }

    /// The complete frame; only once ``remaining`` is 0.
    func frame() -> WebSocketFrame {
        precondition(remaining == 0, "the frame's payload has not fully arrived")
        return header.frame(payload: payload)
    }
}
