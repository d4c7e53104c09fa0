package import RouterCore

/// A WebSocket connection to a ``RouterService`` without sockets: what the transport would do,
/// in memory. Messages are delivered like the event loop delivers them.
package final class TestConnection {
    package let sink: InMemorySink
    private let receiver: any WebSocketReceiver

    /// Opens a connection; the service queues its `welcome` immediately. The service's `run()` must be running
    /// for messages to be handled.
    package init(to service: RouterService, query: [String: String] = [:], usesPerMessageDeflate: Bool = false) {
        sink = InMemorySink(usesPerMessageDeflate: usesPerMessageDeflate)
        receiver = service.connectionOpened(
            sink, request: UpgradeRequest(path: "/ws/memory", query: query, headers: [], remoteAddress: "127.0.0.1:1"))
    }

    /// Delivers a text message.
    package func send(_ text: String) {
        receiver.received(.text(Array(text.utf8)))
        receiver.receivedBatchEnd()
    }
    /// Delivers a binary message.
    package func sendBinary(_ bytes: [UInt8]) {
        receiver.received(.binary(bytes))
        receiver.receivedBatchEnd()
    }
    /// Reports the connection closed, as the transport does after a close or a drop.
    package func close(code: CloseCode = .normal) {
        sink.close(code: code, reason: "")
        receiver.closed(code: code)
    }

    /// Messages sent to this client so far (parsed).
    package var messages: [JSONValue] { sink.messages }

    /// The messages tied to request `id`.
    /// (An `unknown_request` answering a `cancel` names the cancel's id with `op: "cancel"`; it is not one of them.)
    package func messages(for id: String) -> [JSONValue] {
        sink.messages.filter { $0["id"] == .string(id) && $0["op"] != .string("cancel") }
    }

    /// Waits until a final message (`*_complete` or `error`) for `id` has arrived.
    @discardableResult
    package func waitForFinal(_ id: String, timeout: Duration = .seconds(30)) async -> Bool {
        await sink.waitFor(timeout: timeout) { messages in
            messages.contains { $0["id"] == .string(id) && $0["op"] != .string("cancel") && $0.isFinalMessage }
        }
    }
}

extension JSONValue {
    /// Whether this server message ends its request (`<prefix>_complete` or `error`).
    package var isFinalMessage: Bool {
        guard case .string(let type)? = self["type"] else { return false }
        return type == "error" || type.hasSuffix("_complete")
    }

    /// The `type` member as a string.
    package var messageType: String? {
        if case .string(let type)? = self["type"] { return type }
        return nil
    }
}
