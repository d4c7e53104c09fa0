/// A connection's stages from request head to closed socket, and the WebSocket close handshake among them
/// (RFC 6455 §5.5.1, §7): which transitions are allowed, which close frame goes out, and which code the
/// connection ends with.
///
/// A value: each transition returns the ``Effect`` the connection applies (a frame to queue, buffers to
/// drop, the close deadline to arm), so the rules are tested without sockets or timers.
struct CloseHandshake: Equatable {
    enum Stage: Equatable {
        /// Reading the request head.
        case http
        /// WebSocket open: frames flow both ways.
        case open
        /// Our close frame is queued or sent; reading until the peer's close frame or EOF.
        case closeSent
        /// Both close frames exchanged (or we failed the connection, or answered plain HTTP): write what is
        /// queued, shut down writing, read to EOF, then close.
        case draining
        case closed
    }

    /// What the connection does after a transition.
    struct Effect: Equatable {
        /// The payload of a close frame to queue (code and reason), if one goes out.
        var closeFrame: [UInt8]?
        /// Forget the latest unanswered ping: nothing may follow our close frame.
        var dropPendingPong = false
        /// Discard unparsed input: after the close handshake, input is read only to reach EOF.
        var discardInput = false
        /// (Re)arm the close deadline: a peer that does not finish the close in time is reset.
        var armCloseDeadline = false

        static let none = Effect()
    }

    private(set) var stage = Stage.http
    /// The code the connection ends with, as its service is told: 1006 until a close frame is exchanged.
    private(set) var closeCode: CloseCode = .abnormalClosure

    /// Whether close frames have been exchanged or the connection was failed (or is gone).
    var isClosedOrDraining: Bool { stage == .draining || stage == .closed }

    /// The upgrade succeeded.
    mutating func opened() {
        guard stage == .http else { return }
        stage = .open
    }

    /// The peer's close frame arrived, with its status `code` (nil: the frame had none, 1005).
    mutating func peerClosed(code: CloseCode?) -> Effect {
        switch stage {
        case .open:
            // The peer closes first: its code is the connection's. RFC 6455 §5.5.1: answer with a close frame,
            // echoing the status code.
            closeCode = code ?? .noStatusReceived
            var effect = drain()
            effect.closeFrame = code.map { FrameEncoder.closePayload(code: $0, reason: "") } ?? []
            return effect
        case .closeSent:
            // The answer to our close: our code stays the connection's.
            return drain()
        case .http, .draining, .closed:
            return .none
        }
    }

    /// We start the close (shutdown, silent peer, slow consumer, the service's request); only an open
    /// connection can.
    mutating func initiate(code: CloseCode, reason: String) -> Effect {
        guard stage == .open else { return .none }
        closeCode = code
        stage = .closeSent
        return Effect(
            closeFrame: FrameEncoder.closePayload(code: code, reason: reason), dropPendingPong: true, armCloseDeadline: true)
    }

    /// The peer broke the protocol: a close frame with the error's code if ours has not gone out yet, then drain.
    mutating func failed(code: CloseCode, reason: String) -> Effect {
        guard stage != .closed else { return .none }
        let wasOpen = stage == .open
        closeCode = code
        var effect = drain()
        if wasOpen { effect.closeFrame = FrameEncoder.closePayload(code: code, reason: reason) }
        return effect
    }

    /// A plain HTTP response (or a refused upgrade) was queued: the connection drains.
    mutating func answeredHTTP() -> Effect {
        guard stage != .closed else { return .none }
        return drain()
    }

    /// The socket is closed; returns false if it already was.
    mutating func finished() -> Bool {
        guard stage != .closed else { return false }
        stage = .closed
        return true
    }

    private mutating func drain() -> Effect {
        stage = .draining
        return Effect(dropPendingPong: true, discardInput: true, armCloseDeadline: true)
    }
}
