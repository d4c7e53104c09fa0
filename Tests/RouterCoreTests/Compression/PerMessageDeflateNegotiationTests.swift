import Testing

@testable import RouterCore

/// One server-side negotiation case: the client's header lines and the expected outcome (nil = declined).
struct ServerCase: Sendable, CustomTestStringConvertible {
    var offers: [String]
    var expected: (parameters: PerMessageDeflateParameters, response: String)?
    var testDescription: String { offers.joined(separator: " | ") }

    init(_ offers: String..., accept parameters: PerMessageDeflateParameters, _ response: String) {
        self.offers = offers
        self.expected = (parameters, response)
    }

    init(_ offers: String..., decline: Void = ()) {
        self.offers = offers
        self.expected = nil
    }
}

@Suite("PerMessageDeflateNegotiation: server side")
struct ServerNegotiationTests {
    static let cases: [ServerCase] = [
        ServerCase("permessage-deflate", accept: .init(), "permessage-deflate"),
        ServerCase(
            "permessage-deflate; client_max_window_bits", accept: .init(clientMaxWindowBits: 15),
            "permessage-deflate; client_max_window_bits=15"),
        ServerCase(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            accept: .init(serverNoContextTakeover: true, clientNoContextTakeover: true),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ServerCase(
            "permessage-deflate; server_max_window_bits=10", accept: .init(serverMaxWindowBits: 10),
            "permessage-deflate; server_max_window_bits=10"),
        ServerCase(
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=12",
            accept: .init(serverMaxWindowBits: 9, clientMaxWindowBits: 12),
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=12"),
        ServerCase(
            #"permessage-deflate; client_max_window_bits="10""#, accept: .init(clientMaxWindowBits: 10),
            "permessage-deflate; client_max_window_bits=10"),
        ServerCase(
            #"permessage-deflate; server_max_window_bits="11""#, accept: .init(serverMaxWindowBits: 11),
            "permessage-deflate; server_max_window_bits=11"),
        // The client limits its own window to 8: accepted, echoed, inflated with 9 bits.
        ServerCase(
            "permessage-deflate; client_max_window_bits=8", accept: .init(clientMaxWindowBits: 8),
            "permessage-deflate; client_max_window_bits=8"),
        // Case-insensitive names, whitespace everywhere; the response is canonical.
        ServerCase(
            "PerMessage-Deflate ;  Server_No_Context_Takeover ; client_max_window_bits = 12 ",
            accept: .init(serverNoContextTakeover: true, clientMaxWindowBits: 12),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"),
        // The first acceptable offer wins.
        ServerCase(
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits",
            accept: .init(clientMaxWindowBits: 15), "permessage-deflate; client_max_window_bits=15"),
        ServerCase(
            "permessage-deflate; foo=1, permessage-deflate; server_no_context_takeover",
            accept: .init(serverNoContextTakeover: true), "permessage-deflate; server_no_context_takeover"),
        ServerCase(
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=12",
            accept: .init(serverMaxWindowBits: 12), "permessage-deflate; server_max_window_bits=12"),
        ServerCase(
            "x-webkit-deflate-frame, permessage-deflate", accept: .init(), "permessage-deflate"),
        ServerCase(
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            accept: .init(serverMaxWindowBits: 10), "permessage-deflate; server_max_window_bits=10"),
        // Declined: zlib cannot compress with an 8-bit window.
        ServerCase("permessage-deflate; server_max_window_bits=8"),
        // Declined: invalid parameters.
        ServerCase("permessage-deflate; server_max_window_bits"),
        ServerCase("permessage-deflate; server_max_window_bits=16"),
        ServerCase("permessage-deflate; server_max_window_bits=7"),
        ServerCase("permessage-deflate; server_max_window_bits=010"),
        ServerCase("permessage-deflate; server_max_window_bits=+9"),
        ServerCase("permessage-deflate; server_max_window_bits=abc"),
        ServerCase("permessage-deflate; client_max_window_bits=7"),
        ServerCase("permessage-deflate; client_max_window_bits=16"),
        ServerCase("permessage-deflate; server_no_context_takeover=true"),
        ServerCase(#"permessage-deflate; client_no_context_takeover="x""#),
        ServerCase("permessage-deflate; client_max_window_bits; client_max_window_bits=10"),
        ServerCase("permessage-deflate; mystery"),
        ServerCase("x-webkit-deflate-frame"),
        ServerCase(),
        // Malformed headers: nothing is accepted, nothing crashes.
        ServerCase("permessage-deflate; "),
        ServerCase("permessage-deflate;; server_no_context_takeover"),
        ServerCase(#"permessage-deflate; client_max_window_bits="10"#),
        ServerCase("permessage-deflate x"),
        ServerCase("permessage-deflate", "permessage-deflate; =15"),
        ServerCase("permessage-deflate; client_max_window_bits=\u{00e9}"),
    ]

    @Test("Offer → agreed parameters and response, or declined", arguments: cases)
    func negotiate(_ testCase: ServerCase) {
        let result = PerMessageDeflateNegotiation.negotiate(
            offerHeaderValues: testCase.offers, configuration: PerMessageDeflateConfiguration())
        #expect(result?.parameters == testCase.expected?.parameters)
        #expect(result?.responseHeaderValue == testCase.expected?.response)
    }

    @Test("Configuration: preferences show up in the response; disabled declines everything")
    func configuration() throws {
        var configuration = PerMessageDeflateConfiguration(
            serverMaxWindowBits: 12, clientMaxWindowBits: 11, clientNoContextTakeover: true)
        let result = try #require(
            PerMessageDeflateNegotiation.negotiate(
                offerHeaderValues: ["permessage-deflate; client_max_window_bits; server_max_window_bits=14"],
                configuration: configuration))
        #expect(
            result.responseHeaderValue
                == "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11")
        #expect(
            result.parameters
                == .init(clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11))

        // Without client_max_window_bits in the offer, the response must not carry it (RFC 7692 §7.1.2.2).
        let plain = try #require(
            PerMessageDeflateNegotiation.negotiate(offerHeaderValues: ["permessage-deflate"], configuration: configuration))
        #expect(plain.responseHeaderValue == "permessage-deflate; client_no_context_takeover; server_max_window_bits=12")
        #expect(plain.parameters.clientMaxWindowBits == 15)

        configuration.enabled = false
        #expect(PerMessageDeflateNegotiation.negotiate(offerHeaderValues: ["permessage-deflate"], configuration: configuration) == nil)
    }
}

@Suite("PerMessageDeflateNegotiation: client side")
struct ClientNegotiationTests {
    @Test("Offer strings")
    func offers() {
        #expect(PerMessageDeflateNegotiation.clientOffer() == "permessage-deflate; client_max_window_bits")
        #expect(
            PerMessageDeflateNegotiation.clientOffer(
                .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10,
                      clientMaxWindowBits: 12))
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
        #expect(
            PerMessageDeflateNegotiation.clientOffer(.init(advertisesClientMaxWindowBits: false)) == "permessage-deflate")
    }

    static let accepted: [(String, PerMessageDeflateClientOffer, PerMessageDeflateParameters)] = [
        ("permessage-deflate", .init(), .init()),
        ("permessage-deflate; server_max_window_bits=8", .init(), .init(serverMaxWindowBits: 8)),
        ("permessage-deflate; client_max_window_bits=10", .init(), .init(clientMaxWindowBits: 10)),
        ("Permessage-Deflate; Server_No_Context_Takeover", .init(), .init(serverNoContextTakeover: true)),
        ("permessage-deflate; client_no_context_takeover", .init(), .init(clientNoContextTakeover: true)),
        ("permessage-deflate; server_no_context_takeover", .init(serverNoContextTakeover: true), .init(serverNoContextTakeover: true)),
        ("permessage-deflate; server_max_window_bits=9", .init(serverMaxWindowBits: 10), .init(serverMaxWindowBits: 9)),
        // Our own promises hold even if the server does not repeat them.
        ("permessage-deflate", .init(clientNoContextTakeover: true, clientMaxWindowBits: 11),
         .init(clientNoContextTakeover: true, clientMaxWindowBits: 11)),
    ]

    @Test("Valid answers", arguments: accepted)
    func validAnswer(header: String, offered: PerMessageDeflateClientOffer, expected: PerMessageDeflateParameters) throws {
        #expect(try PerMessageDeflateNegotiation.acceptResponse(headerValue: header, offered: offered) == expected)
    }

    static let rejected: [(String, PerMessageDeflateClientOffer, String)] = [
        ("x-webkit-deflate-frame", .init(), "was not offered"),
        ("permessage-deflate, permessage-deflate", .init(), "2 extensions"),
        ("", .init(), "names no extension"),
        ("permessage-deflate; foo", .init(), "unknown parameter 'foo'"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", .init(), "appears twice"),
        ("permessage-deflate; server_no_context_takeover=1", .init(), "must not have a value"),
        ("permessage-deflate; server_max_window_bits", .init(), "needs a value"),
        ("permessage-deflate; server_max_window_bits=16", .init(), "needs a value"),
        ("permessage-deflate; server_max_window_bits=12", .init(serverMaxWindowBits: 10), "exceeds the offered 10"),
        ("permessage-deflate; client_max_window_bits", .init(), "needs a value"),
        ("permessage-deflate; client_max_window_bits=10", .init(advertisesClientMaxWindowBits: false), "was not offered"),
        ("permessage-deflate; client_max_window_bits=13", .init(clientMaxWindowBits: 12), "exceeds the offered 12"),
        ("permessage-deflate; client_max_window_bits=8", .init(), "cannot be honoured"),
        ("permessage-deflate", .init(serverNoContextTakeover: true), "'server_no_context_takeover' was offered"),
        ("permessage-deflate", .init(serverMaxWindowBits: 10), "'server_max_window_bits' was offered"),
        ("permessage-deflate; =1", .init(), "line 0, byte 20"),
    ]

    @Test("Invalid answers throw and say why", arguments: rejected)
    func invalidAnswer(header: String, offered: PerMessageDeflateClientOffer, reason: String) {
        let error = #expect(throws: PerMessageDeflateNegotiationError.self) {
            try PerMessageDeflateNegotiation.acceptResponse(headerValue: header, offered: offered)
        }
        #expect(error?.reason.contains(reason) == true, "reason was: \(error?.reason ?? "none")")
    }

    static let endToEndOffers: [PerMessageDeflateClientOffer] = [
        .init(),
        .init(serverNoContextTakeover: true),
        .init(clientNoContextTakeover: true, serverMaxWindowBits: 9),
        .init(serverMaxWindowBits: 12, clientMaxWindowBits: 10),
        .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15,
              advertisesClientMaxWindowBits: false),
    ]

    @Test("Client offer → server negotiate → client accept agree, and the codecs talk", arguments: endToEndOffers)
    func endToEnd(offer: PerMessageDeflateClientOffer) throws {
        let configuration = PerMessageDeflateConfiguration(serverMaxWindowBits: 13)
        let (serverSide, response) = try #require(
            PerMessageDeflateNegotiation.negotiate(
                offerHeaderValues: [PerMessageDeflateNegotiation.clientOffer(offer)], configuration: configuration))
        let clientSide = try PerMessageDeflateNegotiation.acceptResponse(headerValue: response, offered: offer)
        #expect(clientSide == serverSide)

        let server = try PerMessageDeflateCodec(parameters: serverSide, role: .server, configuration: configuration)
        let client = try PerMessageDeflateCodec(parameters: clientSide, role: .client)
        let message = repetitiveBytes(count: 30_000) + pseudoRandomBytes(count: 2_000, seed: 9)
        for _ in 0..<3 {
            #expect(try client.inflate(server.deflate(message)) == message)
            #expect(try server.inflate(client.deflate(message)) == message)
        }
    }
}
