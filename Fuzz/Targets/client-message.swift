// Fuzz target: inbound client messages (DESIGN §4): JSONParser (both entry points), ClientMessage.parse,
// and the JSON writer round trip.
@testable import RouterCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientMessage(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = FuzzInput(data, count).bytes

    let value: JSONValue?
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        invariant(error.offset >= 0 && error.offset <= bytes.count, "error offset \(error.offset) of \(bytes.count)")
        value = nil
    }
    let topLevel = try? JSONParser.parseTopLevel(bytes)
    invariant((value == nil) == (topLevel == nil), "parse and parseTopLevel disagree")
    if value != nil {
        // Accepted JSON is valid UTF-8 (RFC 8259 §8.1).
        invariant(String(validating: bytes, as: UTF8.self) != nil, "accepted invalid UTF-8")
    }

    if let value {
        // Round trip: what the writer produces parses back to the same value, and writes the same bytes again.
        let written = JSONWriter.serialize(value)
        let back = try? JSONParser.parse(written)
        invariant(back == value, "\(String(decoding: written, as: UTF8.self)) does not parse back to the same value")
        if let back { invariant(JSONWriter.serialize(back) == written, "writing is not stable") }
    }

    switch ClientMessage.parse(bytes) {
    case .success(let message):
        guard case .object? = value else { invariant(false, "a message that is not a JSON object was accepted"); return 0 }
        switch message {
        case .request(_, let id, let data, let timeout):
            if let id { invariant(!id.isEmpty, "empty request id accepted") }
            guard case .object = data else { invariant(false, "request data is not an object"); return 0 }
            if let timeout { invariant(timeout > .zero, "timeout \(timeout) is not positive") }
        case .cancel, .ping, .resume, .ack:
            break
        }
    case .failure(let invalid):
        invariant(!invalid.message.isEmpty, "a rejection without a message")
    }
    return 0
}
