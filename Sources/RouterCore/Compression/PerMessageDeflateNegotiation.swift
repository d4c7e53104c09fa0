/// What a client offers for permessage-deflate (RFC 7692 §7.1), and therefore what it accepts in the answer.
package struct PerMessageDeflateClientOffer: Sendable, Equatable {
    /// Ask the server to reset its compressor after each message (`server_no_context_takeover`).
    package var serverNoContextTakeover: Bool
    /// Promise to reset our compressor after each message (`client_no_context_takeover`).
    package var clientNoContextTakeover: Bool
    /// Limit the server's window (`server_max_window_bits=N`, 9…15; nil = no limit).
    package var serverMaxWindowBits: Int?
    /// Send `client_max_window_bits`, telling the server it may limit our window. Default `true`.
    package var advertisesClientMaxWindowBits: Bool
    /// With ``advertisesClientMaxWindowBits``, the window (9…15) we promise not to exceed; nil sends the bare parameter.
    package var clientMaxWindowBits: Int?

    package init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int? = nil,
        advertisesClientMaxWindowBits: Bool = true,
        clientMaxWindowBits: Int? = nil
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.advertisesClientMaxWindowBits = advertisesClientMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }
}

/// Why a client rejects the server's `Sec-WebSocket-Extensions` answer; the client must then fail the connection
/// (RFC 6455 §4.1, RFC 7692 §7.1).
package struct PerMessageDeflateNegotiationError: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { "permessage-deflate negotiation failed: \(reason)" }
}

/// permessage-deflate negotiation (RFC 7692 §5, §7.1) as pure functions over header values.
package enum PerMessageDeflateNegotiation {
    /// The extension token.
    package static let extensionName = "permessage-deflate"

    // MARK: Server side

    /// Picks the first acceptable `permessage-deflate` offer and builds the response header value.
    ///
    /// Offers are read in order (the client's preference, RFC 7692 §5). An offer is declined (skipped), as RFC 7692
    /// §7 requires, when it has an unknown parameter, the same parameter twice, a value on a `*_no_context_takeover`
    /// parameter, or a window value that is not one of `8`…`15` (a missing value on `server_max_window_bits`
    /// included). An offer of `server_max_window_bits=8` is also declined: the server would have to compress with a
    /// 256-byte window, which zlib cannot do for raw DEFLATE (§7.1.2.1 lets a server decline what it cannot honour).
    /// `client_max_window_bits=8` is accepted: it limits the *client's* window, and inflating with a 512-byte window
    /// reads it (see ``PerMessageDeflateParameters``).
    ///
    /// The response states everything agreed: `server_no_context_takeover` and `client_no_context_takeover` when
    /// the client asked or the configuration wants them, `server_max_window_bits` when the client limited it or the
    /// configuration is below 15, and `client_max_window_bits=N` only when the client offered that parameter
    /// (§7.1.2.2: a response must not include it otherwise).
    ///
    /// - Returns: nil when permessage-deflate is disabled, no offer is acceptable, or the header is malformed.
    package static func negotiate(
        offerHeaderValues: [String], configuration: PerMessageDeflateConfiguration
    ) -> (parameters: PerMessageDeflateParameters, responseHeaderValue: String)? {
        guard configuration.enabled, let offers = try? ExtensionHeader.parse(offerHeaderValues) else { return nil }
        for offer in offers where offer.name.lowercased() == extensionName {
            if let accepted = accept(offer, configuration: configuration) { return accepted }
        }
        return nil
    }

    private static func accept(
        _ offer: ExtensionOffer, configuration: PerMessageDeflateConfiguration
    ) -> (parameters: PerMessageDeflateParameters, responseHeaderValue: String)? {
        var seen: Set<String> = []
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        var serverMaxWindowBits: Int?
        var clientMaxWindowBitsOffered = false
        var clientMaxWindowBits: Int?
        for (rawName, value) in offer.parameters {
            let name = rawName.lowercased()
            guard seen.insert(name).inserted else { return nil }  // duplicated parameter
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                clientNoContextTakeover = true
            case "server_max_window_bits":
                // RFC 7692 §7.1.2.1: zlib cannot compress raw DEFLATE with a 256-byte window, so 8 is declined.
                guard let bits = value.flatMap(windowBits), bits >= 9 else { return nil }
                serverMaxWindowBits = bits
            case "client_max_window_bits":
                clientMaxWindowBitsOffered = true
                if let value {
                    guard let bits = windowBits(value) else { return nil }
                    clientMaxWindowBits = bits
                }
            default:
                return nil  // unknown parameter
            }
        }

        let configuredServerBits = clamp(configuration.serverMaxWindowBits)
        let configuredClientBits = clamp(configuration.clientMaxWindowBits)
        var parameters = PerMessageDeflateParameters(
            serverNoContextTakeover: serverNoContextTakeover || configuration.serverNoContextTakeover,
            clientNoContextTakeover: clientNoContextTakeover || configuration.clientNoContextTakeover,
            serverMaxWindowBits: min(serverMaxWindowBits ?? 15, configuredServerBits),
            clientMaxWindowBits: 15)
        var response = [extensionName]
        if parameters.serverNoContextTakeover { response.append("server_no_context_takeover") }
        if parameters.clientNoContextTakeover { response.append("client_no_context_takeover") }
        if serverMaxWindowBits != nil || parameters.serverMaxWindowBits < 15 {
            response.append("server_max_window_bits=\(parameters.serverMaxWindowBits)")
        }
        if clientMaxWindowBitsOffered {
            parameters.clientMaxWindowBits = min(clientMaxWindowBits ?? 15, configuredClientBits)
            response.append("client_max_window_bits=\(parameters.clientMaxWindowBits)")
        }
        return (parameters, response.joined(separator: "; "))
    }

    // MARK: Client side

    /// The `Sec-WebSocket-Extensions` value for a client's request, e.g.
    /// `permessage-deflate; client_max_window_bits`.
    package static func clientOffer(_ offer: PerMessageDeflateClientOffer = PerMessageDeflateClientOffer()) -> String {
        var elements = [extensionName]
        if offer.serverNoContextTakeover { elements.append("server_no_context_takeover") }
        if offer.clientNoContextTakeover { elements.append("client_no_context_takeover") }
        if let bits = offer.serverMaxWindowBits { elements.append("server_max_window_bits=\(clamp(bits))") }
        if offer.advertisesClientMaxWindowBits || offer.clientMaxWindowBits != nil {
            elements.append(offer.clientMaxWindowBits.map { "client_max_window_bits=\(clamp($0))" } ?? "client_max_window_bits")
        }
        return elements.joined(separator: "; ")
    }

    /// Validates the server's `Sec-WebSocket-Extensions` answer to `offered` and returns what was agreed.
    ///
    /// Call it only when the response carries the header. The answer must be exactly one `permessage-deflate`
    /// element (RFC 6455 §9.1: a server may only accept what was offered) whose parameters are known, not repeated,
    /// and consistent with the offer (RFC 7692 §7.1): `*_no_context_takeover` without a value; `server_max_window_bits`
    /// with a value 8…15, no larger than we asked, and present if we asked; `server_no_context_takeover` present if we
    /// asked; `client_max_window_bits` only if we offered it, with a value 9…15 no larger than our own.
    /// `client_max_window_bits=8` is rejected: zlib cannot compress raw DEFLATE with a 256-byte window, and
    /// §7.1.2.2 leaves the client no choice but to honour it or fail.
    /// - Throws: ``PerMessageDeflateNegotiationError`` saying which rule was broken.
    package static func acceptResponse(
        headerValue: String, offered: PerMessageDeflateClientOffer
    ) throws(PerMessageDeflateNegotiationError) -> PerMessageDeflateParameters {
        let elements: [ExtensionOffer]
        do {
            elements = try ExtensionHeader.parse(headerValue)
        } catch {
            throw PerMessageDeflateNegotiationError(error.description)
        }
        guard let element = elements.first else { throw PerMessageDeflateNegotiationError("the response names no extension") }
        guard element.name.lowercased() == extensionName else {
            throw PerMessageDeflateNegotiationError("the server accepted '\(element.name)', which was not offered")
        }
        guard elements.count == 1 else {
            throw PerMessageDeflateNegotiationError("the server accepted \(elements.count) extensions; one was offered")
        }

        var parameters = PerMessageDeflateParameters(clientNoContextTakeover: offered.clientNoContextTakeover)
        var seen: Set<String> = []
        for (rawName, value) in element.parameters {
            let name = rawName.lowercased()
            guard seen.insert(name).inserted else { throw PerMessageDeflateNegotiationError("'\(name)' appears twice") }
            switch name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard value == nil else { throw PerMessageDeflateNegotiationError("'\(name)' must not have a value") }
                if name == "server_no_context_takeover" {
                    parameters.serverNoContextTakeover = true
                } else {
                    parameters.clientNoContextTakeover = true
                }
            case "server_max_window_bits":
                guard let bits = value.flatMap(windowBits) else {
                    throw PerMessageDeflateNegotiationError("'server_max_window_bits' needs a value 8…15, got \(value.map { "'\($0)'" } ?? "none")")
                }
                if let limit = offered.serverMaxWindowBits, bits > clamp(limit) {
                    throw PerMessageDeflateNegotiationError("'server_max_window_bits=\(bits)' exceeds the offered \(clamp(limit))")
                }
                parameters.serverMaxWindowBits = bits
            case "client_max_window_bits":
                guard offered.advertisesClientMaxWindowBits || offered.clientMaxWindowBits != nil else {
                    throw PerMessageDeflateNegotiationError("'client_max_window_bits' was not offered")
                }
                guard let bits = value.flatMap(windowBits) else {
                    throw PerMessageDeflateNegotiationError("'client_max_window_bits' needs a value 8…15, got \(value.map { "'\($0)'" } ?? "none")")
                }
                if let limit = offered.clientMaxWindowBits, bits > clamp(limit) {
                    throw PerMessageDeflateNegotiationError("'client_max_window_bits=\(bits)' exceeds the offered \(clamp(limit))")
                }
                guard bits >= 9 else {
                    throw PerMessageDeflateNegotiationError("'client_max_window_bits=8' cannot be honoured: zlib's raw deflate needs a window of at least 9 bits")
                }
                parameters.clientMaxWindowBits = bits
            default:
                throw PerMessageDeflateNegotiationError("unknown parameter '\(rawName)'")
            }
        }
        if offered.serverNoContextTakeover && !parameters.serverNoContextTakeover {
            throw PerMessageDeflateNegotiationError("'server_no_context_takeover' was offered but not accepted")
        }
        if offered.serverMaxWindowBits != nil && !seen.contains("server_max_window_bits") {
            throw PerMessageDeflateNegotiationError("'server_max_window_bits' was offered but not accepted")
        }
        if !seen.contains("client_max_window_bits"), let ours = offered.clientMaxWindowBits {
            parameters.clientMaxWindowBits = clamp(ours)  // we promised not to exceed it
        }
        return parameters
    }

    // MARK: Values

    /// RFC 7692 §7.1.2.1: `%x38-39 / "1" %x30-35`, i.e. exactly "8" … "15" (no sign, no leading zero).
    static func windowBits(_ value: String) -> Int? {
        guard value.utf8.count <= 2, value.utf8.first != UInt8(ascii: "0"),
            value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let bits = Int(value), (8...15).contains(bits)
        else { return nil }
        return bits
    }

    static func clamp(_ bits: Int) -> Int { min(max(bits, 9), 15) }
}
