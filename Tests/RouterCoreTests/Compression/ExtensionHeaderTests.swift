import Testing

@testable import RouterCore

@Suite("ExtensionHeader: RFC 6455 §9.1 parsing")
struct ExtensionHeaderTests {
    /// Offers flattened to comparable strings: `name` or `name;p=v;q`.
    func flat(_ offers: [ExtensionOffer]) -> [String] {
        offers.map { offer in
            ([offer.name] + offer.parameters.map { p in p.value.map { "\(p.name)=\($0)" } ?? p.name }).joined(separator: ";")
        }
    }

    @Test("Valid values", arguments: [
        (["permessage-deflate"], ["permessage-deflate"]),
        (["permessage-deflate; client_max_window_bits"], ["permessage-deflate;client_max_window_bits"]),
        (["a; x=1; y, b"], ["a;x=1;y", "b"]),
        (["  a\t;\tx = 1 ;y=\"15\"  ,  b  "], ["a;x=1;y=15", "b"]),
        (["a; v=\"ab\\c\""], ["a;v=abc"]),  // quoted-pair unescapes
        (["a, , b,"], ["a", "b"]),  // empty list elements are ignored
        (["a", "b; c=d"], ["a", "b;c=d"]),  // several header lines form one list
        ([""], []),
        (["x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10"],
         ["x-webkit-deflate-frame", "permessage-deflate;server_max_window_bits=10"]),
    ])
    func valid(values: [String], expected: [String]) throws {
        #expect(flat(try ExtensionHeader.parse(values)) == expected)
    }

    @Test("Malformed values say what and where", arguments: [
        (["a; =1"], 0, 3, "parameter name"),
        (["a;"], 0, 2, "end of the value"),
        (["a b"], 0, 2, "expected ',' or ';'"),
        (["a; x=\"1"], 0, 5, "unterminated"),
        (["a; x=\"1 2\""], 0, 5, "not a token"),
        (["a; x=\"\""], 0, 5, "not a token"),
        (["a; x="], 0, 5, "a value after 'x='"),
        (["ok", "b; c=@"], 1, 5, "'@'"),
        (["a; x=é"], 0, 5, "byte 0xc3"),
        ([";a"], 0, 0, "an extension name"),
    ])
    func malformed(values: [String], line: Int, offset: Int, reason: String) {
        let error = #expect(throws: ExtensionHeaderError.self) { try ExtensionHeader.parse(values) }
        #expect(error?.line == line)
        #expect(error?.offset == offset)
        #expect(error?.reason.contains(reason) == true, "reason was: \(error?.reason ?? "none")")
        #expect(error?.description.hasPrefix("Sec-WebSocket-Extensions line \(line), byte \(offset): ") == true)
    }

    @Test("Parameters keep their order and distinguish a bare name from a value")
    func parameterOrder() throws {
        let offer = try #require(try ExtensionHeader.parse("e; b=2; a; c=\"3\"").first)
        #expect(offer.parameters.map(\.name) == ["b", "a", "c"])
        #expect(offer.parameters.map(\.value) == ["2", nil, "3"])
        #expect(offer.description == "e; b=2; a; c=3")
    }
}
