// Fuzz target: permessage-deflate inflation and its size bound (Inflater through PerMessageDeflateCodec,
// and Inflater directly), with deflate/inflate round trips.
@testable import RouterCore

private let limits = [0, 1, 7, 100, 1024, 4096, 65_536, 1 << 20]

/// `codec.inflate` on `bytes`, with its typed error kept.
private func inflate(_ codec: PerMessageDeflateCodec, _ bytes: some Collection<UInt8>, isFinal: Bool, limit: Int) -> Result<[UInt8], InflateFailure> {
    Array(bytes).withUnsafeBytes { raw in
        do throws(InflateFailure) { return .success(try codec.inflate(raw, isFinal: isFinal, limit: limit)) } catch { return .failure(error) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    var input = FuzzInput(data, count)
    let config = input.byte()
    let windowBits = 9 + Int(config & 0x7) % 7  // 9…15
    let noContextTakeover = config & 0x08 != 0
    let limit = limits[Int(config >> 4) & 0x7]
    let frameSizes = [Int(input.byte()), Int(input.byte())].map { $0 == 0 ? 1 << 16 : $0 }
    let payload = input.rest

    // 1. Hostile compressed input, as one message split into frames: the output never passes the limit.
    let parameters = PerMessageDeflateParameters(
        clientNoContextTakeover: noContextTakeover, clientMaxWindowBits: windowBits)
    let server = try! PerMessageDeflateCodec(parameters: parameters, role: .server)
    let frames = chunks(of: payload, sizes: frameSizes)
    var produced = 0
    for (index, frame) in frames.enumerated() {
        switch inflate(server, frame, isFinal: index == frames.count - 1, limit: limit - produced) {
        case .success(let output):
            produced += output.count
            invariant(produced <= limit, "inflated \(produced) bytes, limit \(limit)")
            continue
        case .failure(.tooLarge(let reported)):
            invariant(reported == limit - produced, "tooLarge(\(reported)) for a limit of \(limit - produced)")
        case .failure(.corrupt):
            break
        }
        break
    }

    // 2. The same bytes through Inflater directly, the way the static-file and gzip paths use it.
    let inflater = try! Inflater(format: .raw(windowBits: windowBits))
    var output: [UInt8] = []
    let progress = Array(payload).withUnsafeBytes { raw in try? inflater.inflate(raw, into: &output, limit: limit) }
    if let progress {
        invariant(progress.consumed <= payload.count, "consumed \(progress.consumed) of \(payload.count)")
        invariant(progress.streamEnded || progress.consumed == payload.count, "stopped early without a stream end")
    }
    invariant(output.count <= limit, "Inflater wrote \(output.count) bytes, limit \(limit)")

    // 3. Round trip: the payload as plain text, compressed by a client, inflates to itself; exactly at the
    // limit it fits, one byte under the limit it fails with tooLarge.
    let client = try! PerMessageDeflateCodec(parameters: parameters, role: .client)
    let receiver = try! PerMessageDeflateCodec(parameters: parameters, role: .server)
    let plain = Array(payload.prefix(8192))
    for _ in 0..<2 {  // twice: the second message uses the context the first left (unless no_context_takeover)
        let wire = plain.withUnsafeBytes { client.deflate($0) }
        let back = try? inflate(receiver, wire, isFinal: true, limit: plain.count).get()
        invariant(back == plain, "round trip of \(plain.count) bytes failed")
    }
    if !plain.isEmpty {
        let fresh = try! PerMessageDeflateCodec(parameters: parameters, role: .server)
        let sender = try! PerMessageDeflateCodec(parameters: parameters, role: .client)
        let wire = plain.withUnsafeBytes { sender.deflate($0) }
        let result = inflate(fresh, wire, isFinal: true, limit: plain.count - 1)
        invariant(result == .failure(.tooLarge(limit: plain.count - 1)), "\(plain.count) bytes under a limit of \(plain.count - 1): \(result)")
    }
    return 0
}
