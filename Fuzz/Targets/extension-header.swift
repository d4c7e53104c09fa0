// Fuzz target: Sec-WebSocket-Extensions parsing (RFC 6455 §9.1), then both sides of the
// permessage-deflate negotiation on what it accepts.
@testable import RouterCore

private func isToken(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy(ExtensionHeader.isTokenByte)
}

private func same(_ lhs: [ExtensionOffer], _ rhs: [ExtensionOffer]) -> Bool {
    lhs.map(\.description) == rhs.map(\.description)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExtensionHeader(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    var input = FuzzInput(data, count)
    let config = input.byte()
    // Header lines are separated by LF in the input (the header may be repeated).
    let lines = input.rest.split(separator: 0x0A, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
    }
    guard let offers = try? ExtensionHeader.parse(lines) else {
        invariant(PerMessageDeflateNegotiation.negotiate(offerHeaderValues: lines, configuration: PerMessageDeflateConfiguration()) == nil,
                  "negotiated from a header that does not parse")
        return 0
    }
    for offer in offers {
        invariant(isToken(offer.name), "extension name '\(offer.name)' is not a token")
        for parameter in offer.parameters {
            invariant(isToken(parameter.name), "parameter name '\(parameter.name)' is not a token")
            if let value = parameter.value { invariant(isToken(value), "parameter value '\(value)' is not a token") }
        }
    }
    // Round trip: the offers written back in header syntax parse to the same offers.
    let written = offers.map(\.description).joined(separator: ", ")
    let reparsed = try? ExtensionHeader.parse(written)
    invariant(reparsed.map { same($0, offers) } ?? false, "'\(written)' does not parse back to the same offers")

    // Server side: a configuration chosen by the input; what it agrees to must be usable and acceptable to a client.
    var configuration = PerMessageDeflateConfiguration()
    configuration.serverMaxWindowBits = 9 + Int(config & 0x7) % 7
    configuration.clientMaxWindowBits = 9 + Int(config >> 3 & 0x7) % 7
    configuration.serverNoContextTakeover = config & 0x40 != 0
    configuration.clientNoContextTakeover = config & 0x80 != 0
    guard let (parameters, response) = PerMessageDeflateNegotiation.negotiate(offerHeaderValues: lines, configuration: configuration) else {
        return 0
    }
    invariant((9...15).contains(parameters.serverMaxWindowBits), "server window \(parameters.serverMaxWindowBits)")
    invariant((8...15).contains(parameters.clientMaxWindowBits), "client window \(parameters.clientMaxWindowBits)")
    invariant(parameters.serverMaxWindowBits <= configuration.serverMaxWindowBits, "server window over the configuration")
    invariant((try? ExtensionHeader.parse(response)) != nil, "response '\(response)' does not parse")
    _ = try! PerMessageDeflateCodec(parameters: parameters, role: .server)
    // Our own client, offering what it offers by default, checks a response as it would from any server.
    _ = try? PerMessageDeflateNegotiation.acceptResponse(headerValue: lines.first ?? "", offered: PerMessageDeflateClientOffer())
    return 0
}
