// Fuzz target: the server's inbound WebSocket path without sockets: FrameDecoder -> MessageAssembler
// (UTF-8 validation, permessage-deflate inflation with the message budget, close-frame parsing).
@testable import RouterCore

private func decode(_ decoder: inout FrameDecoder, _ bytes: [UInt8]) -> Result<(frame: WebSocketFrame, consumed: Int)?, WebSocketProtocolError> {
    bytes.withUnsafeBytes { raw in
        do throws(WebSocketProtocolError) { return .success(try decoder.decode(raw)) } catch { return .failure(error) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    var input = FuzzInput(data, count)
    let config = input.byte()
    let compressed = config & 0x01 != 0
    let noContextTakeover = config & 0x02 != 0
    // Limits small enough to be hit: frames of 0…1000 bytes, messages of 0…4000 bytes.
    let maxFramePayload = [125, 126, 1000, 65_536][Int(config >> 2) & 0x3]
    let maxMessageBytes = [0, 16, 4000, 70_000][Int(config >> 4) & 0x3]
    let chunkSizes = [Int(input.byte()), Int(input.byte())].map { $0 == 0 ? 4096 : $0 }
    let wire = input.rest

    var decoder = FrameDecoder(role: .server, maxFramePayload: maxFramePayload)
    var inflater: PerMessageDeflateCodec?
    if compressed {
        decoder.allowsRSV1 = true
        let parameters = PerMessageDeflateParameters(clientNoContextTakeover: noContextTakeover)
        inflater = try! PerMessageDeflateCodec(parameters: parameters, role: .server)
    }
    var assembler = MessageAssembler(maxMessageBytes: maxMessageBytes, inflater: inflater)

    // Bytes arrive in chunks; the decoder sees all unconsumed bytes each time, like Connection.
    var buffer: [UInt8] = []
    connection: for chunk in chunks(of: wire, sizes: chunkSizes) {
        buffer.append(contentsOf: chunk)
        while true {
            let decoded: (frame: WebSocketFrame, consumed: Int)?
            switch decode(&decoder, buffer) {
            case .success(let result): decoded = result
            case .failure(let error):
                _ = error.closeCode
                break connection
            }
            guard let (frame, consumed) = decoded else {
                if let pending = decoder.pendingFrameBytes {
                    invariant(pending > buffer.count, "pending frame of \(pending) bytes, \(buffer.count) already buffered")
                    invariant(pending <= maxFramePayload + 14, "pending frame of \(pending) bytes over the frame limit")
                }
                break
            }
            invariant(consumed <= buffer.count, "consumed \(consumed) of \(buffer.count) bytes")
            invariant(frame.payload.count <= maxFramePayload, "payload \(frame.payload.count) over \(maxFramePayload)")
            let header = FrameEncoder.headerSize(payloadLength: frame.payload.count, masked: true)
            invariant(consumed >= header && consumed - header <= 8 + frame.payload.count, "frame of \(consumed) bytes for \(frame.payload.count)")
            // Round trip: the frame encoded again (with a fixed key) decodes to the same frame.
            let again = FrameEncoder.encode(frame, maskingKey: (0x12, 0x34, 0x56, 0x78))
            var second = decoder
            let back = try? decode(&second, again).get()
            invariant(back?.frame == frame && back?.consumed == again.count, "frame does not survive encode/decode")
            // The streaming path (Connection, when a frame spans reads): its header, then its payload in two
            // pieces through IncomingFrame, must give the same frame.
            var streaming = decoder
            let frameBytes = Array(buffer[0..<consumed])
            let streamed = frameBytes.withUnsafeBytes { raw in try? streaming.decodeHeader(raw) }
            if let header = streamed {
                invariant(header.payloadLength == frame.payload.count, "header length \(header.payloadLength) for \(frame.payload.count)")
                let payload = frameBytes[header.size...]
                let split = payload.isEmpty ? 0 : chunkSizes[0] % (payload.count + 1)
                var incoming = IncomingFrame(header: header, firstChunk: split)
                let first = payload.prefix(split).withUnsafeBytes { incoming.take($0) }
                let second = payload.dropFirst(split).withUnsafeBytes { incoming.take($0) }
                invariant(first + second == payload.count && incoming.remaining == 0, "streaming took \(first)+\(second) of \(payload.count)")
                invariant(incoming.frame() == frame, "the streaming path decodes another frame")
            } else {
                invariant(false, "decodeHeader failed on a frame decode accepted")
            }

            buffer.removeFirst(consumed)
            let event: MessageAssembler.Event?
            do {
                event = try assembler.push(frame)
            } catch {
                _ = error.closeCode
                break connection
            }
            switch event {
            case .message(.text(let bytes))?:
                invariant(bytes.count <= maxMessageBytes, "text of \(bytes.count) bytes over \(maxMessageBytes)")
                invariant(String(validating: bytes, as: UTF8.self) != nil, "text message is not valid UTF-8")
            case .message(.binary(let bytes))?:
                invariant(bytes.count <= maxMessageBytes, "binary of \(bytes.count) bytes over \(maxMessageBytes)")
            case .ping(let payload)?, .pong(let payload)?:
                invariant(payload.count <= 125, "control payload of \(payload.count) bytes")
            case .close(let code, let reason)?:
                invariant(reason.utf8.count <= 123, "close reason of \(reason.utf8.count) bytes")
                if let code { invariant(code.isValidOnWire, "close code \(code) not valid on the wire") }
                break connection
            case nil:
                break
            }
        }
    }
    return 0
}
