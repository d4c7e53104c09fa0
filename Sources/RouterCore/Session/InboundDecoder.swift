/// A client's text message turned into what its session acts on: parsed, and for an operation request,
/// its operation looked up and its `data` checked against the operation's input limits and decoded.
struct DecodedMessage: Sendable {
    var message: Result<ClientMessage, ClientMessage.Invalid>
    /// Set for a request: ready to admit, or the error that answers it.
    var preparation: RequestPreparation?
}

/// An operation request after its `data` was decoded, before admission (in-flight limits, duplicate ids).
enum RequestPreparation: Sendable {
    case ready(OperationDescriptor, PreparedOperation)
    /// Answered with `error` `code` (`unknown_operation`, `payload_too_large`, `bad_request`, …).
    case refused(code: String, message: String)
}

extension Router {
    /// Looks up the operation of `type` and decodes `data` for it (input limits first).
    func prepare(type: String, data: RequestData) -> RequestPreparation {
        guard let operation = operation(for: type) else {
            return .refused(code: ErrorCode.unknownOperation, message: "unknown operation \"\(type)\"")
        }
        do {
            return .ready(operation.descriptor, try operation.prepare(data: data))
        } catch {
            let (code, message) = RequestDecoding.codeAndMessage(for: error)
            return .refused(code: code, message: message)
        }
    }
}

/// Decodes a connection's text messages where they cannot hold up other connections.
///
/// A connection's session task runs on its loop's session thread, which every connection of that loop
/// shares. Parsing and decoding a message costs time in proportion to its size (a few MB of JSON, hundreds
/// of milliseconds): a message above ``offloadThreshold`` bytes is decoded on ``executor`` (the handler
/// threads) while the session task waits for it, so the session thread serves the loop's other connections
/// meanwhile. The waiting task keeps its connection's order: the connection's next message is handled only
/// after this one, each exactly once. Smaller messages are decoded in place, which is cheaper than a hop.
struct InboundDecoder: Sendable {
    let router: Router
    /// Messages of more bytes than this are decoded on ``executor``.
    let offloadThreshold: Int
    let executor: any TaskExecutor

    /// Parses `bytes` and, for a request, prepares it.
    func decode(_ bytes: [UInt8]) async -> DecodedMessage {
        guard bytes.count > offloadThreshold else { return decodeInPlace(bytes) }
        return await withTaskExecutorPreference(executor) { decodeInPlace(bytes) }
    }

    /// Parses `bytes` only (a message refused before it is handled still names its request).
    func parse(_ bytes: [UInt8]) async -> Result<ClientMessage, ClientMessage.Invalid> {
        guard bytes.count > offloadThreshold else { return ClientMessage.parse(bytes) }
        return await withTaskExecutorPreference(executor) { ClientMessage.parse(bytes) }
    }

    private func decodeInPlace(_ bytes: [UInt8]) -> DecodedMessage {
        let message = ClientMessage.parse(bytes)
        guard case .success(.request(let type, _, let data, _)) = message else { return DecodedMessage(message: message) }
        return DecodedMessage(message: message, preparation: router.prepare(type: type, data: data))
    }
}
