// Fuzz target: HTTPHeadParser (one shot and incremental) and the upgrade checks on what it accepts.
@testable import RouterCore

private func describe(_ result: Result<(head: HTTPRequestHead, consumed: Int)?, HTTPParseError>) -> String {
    switch result {
    case .success(nil): return "need more"
    case .success(let (head, consumed)?):
        return "\(consumed) \(head.method) \(head.target) \(head.version) \(head.headers.map { "\($0.name): \($0.value)" })"
    case .failure(let error): return "error \(error)"
    }
}

private func parse(_ parser: inout HTTPHeadParser, _ bytes: ArraySlice<UInt8>) -> Result<(head: HTTPRequestHead, consumed: Int)?, HTTPParseError> {
    bytes.withUnsafeBytes { raw in
        do throws(HTTPParseError) { return .success(try parser.parse(raw)) } catch { return .failure(error) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    var input = FuzzInput(data, count)
    let config = input.byte()
    // Small limits so the fuzzer reaches them: 64…1024 head bytes, 1…16 headers.
    let maxHeadBytes = 64 << Int(config & 0x3)  // 64, 128, 256, 512
    let maxHeaderCount = 1 + Int(config >> 4)
    let cut = Int(input.byte())
    let bytes = input.rest

    var oneShot = HTTPHeadParser(maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
    let whole = parse(&oneShot, bytes)
    if case .success(let (head, consumed)?) = whole {
        invariant(consumed > 0 && consumed <= bytes.count, "consumed \(consumed) of \(bytes.count)")
        invariant(consumed <= maxHeadBytes, "consumed \(consumed) over the \(maxHeadBytes)-byte limit")
        invariant(head.headers.count <= maxHeaderCount, "\(head.headers.count) headers over the limit \(maxHeaderCount)")
        let tail = bytes[bytes.startIndex + consumed - 1]
        invariant(tail == 0x0A, "the head must end with LF")
        for header in head.headers {
            invariant(!header.name.isEmpty && header.name == header.name.lowercased(), "header name '\(header.name)'")
        }
        // What the server does next with an accepted head: must answer, never trap.
        _ = UpgradeHandshake.isWebSocketUpgrade(head)
        _ = UpgradeHandshake.evaluate(head, policy: WebSocketHandshakePolicy())
        _ = UpgradeHandshake.evaluate(head, policy: WebSocketHandshakePolicy(allowedOrigins: ["https://app.example"], bearerToken: "secret"))
        if let extensions = head.header("sec-websocket-extensions") {
            _ = PerMessageDeflateNegotiation.negotiate(offerHeaderValues: [extensions], configuration: PerMessageDeflateConfiguration())
        }
    }

    // The same bytes arriving in pieces, with one parser that remembers how far it looked, must give the
    // same answer as soon as the head is complete.
    var incremental = HTTPHeadParser(maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
    let step = max(1, cut % 37)
    var length = 0
    var answer: Result<(head: HTTPRequestHead, consumed: Int)?, HTTPParseError> = .success(nil)
    while length < bytes.count {
        length = min(bytes.count, length + step)
        answer = parse(&incremental, bytes.prefix(length))
        if case .success(nil) = answer { continue }
        break
    }
    if case .success(nil) = answer {
        invariant(describe(whole) == "need more", "incremental: need more, one shot: \(describe(whole))")
    } else {
        var fresh = HTTPHeadParser(maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
        let reference = describe(parse(&fresh, bytes.prefix(length)))
        invariant(describe(answer) == reference, "incremental \(describe(answer)) vs one shot \(reference)")
        if case .success(let (_, consumed)?) = answer, case .success(let (_, wholeConsumed)?) = whole {
            invariant(consumed == wholeConsumed, "head ends at \(consumed) incrementally, \(wholeConsumed) in one shot")
        }
    }
    return 0
}
