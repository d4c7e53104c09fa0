import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// One accepted TCP connection, confined to its event loop: HTTP request head, then either a plain
/// HTTP response or the WebSocket protocol until the close handshake ends.
final class Connection: SelectableChannel {
    // Stored properties are laid out in declaration order: each value whose size is not a multiple of eight
    // is followed by the small ones that fit in its tail (an idle connection is this object, 5,000 of them
    // in the idle benchmark).
    unowned(unsafe) let loop: EventLoop
    let remoteAddress: String
    /// The client's address without the port: what the per-address connection limit counts.
    private let clientKey: String
    private let server: ServerContext
    private var token: UInt64 = 0
    @exclusivity(unchecked) private var inbound: [UInt8] = []
    /// The frame whose payload is arriving, when a read ended inside one.
    private var incomingFrame: IncomingFrame?
    /// The echo endpoint's small payloads are unmasked into this array, reused while no message from it is
    /// kept elsewhere.
    @exclusivity(unchecked) private var payloadSpare: [UInt8] = []
    @exclusivity(unchecked) private var writeQueue: WriteQueue
    private var deflater: (any MessageDeflating)?
    private var receiver: (any WebSocketReceiver)?
    private var handle: ConnectionHandle?
    /// The payload of the latest ping not yet answered while the socket was not writable: only the latest
    /// ping needs an answer (RFC 6455 §5.5.3), so a ping flood from a peer that does not read costs one pong.
    private var pendingPong: [UInt8]?
    private var headParser: HTTPHeadParser?
    let fd: Int32
    @exclusivity(unchecked) private var decoder: FrameDecoder
    /// The connection's stage and close handshake.
    @exclusivity(unchecked) private var handshake = CloseHandshake()
    private var stage: CloseHandshake.Stage { handshake.stage }
    private var interest: SelectorInterest = .read
    @exclusivity(unchecked) private var assembler: MessageAssembler
    private var isEcho = false
    /// Whether the upgrade completed (counted in the open-WebSocket gauge).
    private var isWebSocket = false
    private var writeShutdown = false
    /// Whether the loop will call ``endBatch()`` at the end of its iteration.
    private var batchEndPending = false
    /// Reading stopped because the outbound backlog passed the high-water mark (resumes under the low-water mark).
    private var readsPaused = false
    /// Reading and parsing stopped because the receiver's queue is full (``WebSocketReceiver/acceptsMoreInput``);
    /// resumes on ``resumeInbound()``. Unparsed bytes wait in `inbound`.
    private var inboundPaused = false
    /// Set once the WebSocket is open.
    private var heartbeat: Heartbeat?
    /// The heartbeat's, the deadline's (handshake, then close) and the slow-consumer watch's timers.
    private var timers = TimerSlots()
    private var slowConsumerWatch: SlowConsumerWatch
    private var heartbeatTimer: TimerQueue.ID? {
        get { timers.heartbeat.id }
        set { timers.heartbeat = TimerSlot(newValue) }
    }
    private var deadlineTimer: TimerQueue.ID? {
        get { timers.deadline.id }
        set { timers.deadline = TimerSlot(newValue) }
    }
    private var slowConsumerTimer: TimerQueue.ID? {
        get { timers.slowConsumer.id }
        set { timers.slowConsumer = TimerSlot(newValue) }
    }

    init(fd: Int32, remoteAddress: String, clientKey: String, loop: EventLoop, server: ServerContext) {
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.clientKey = clientKey
        self.loop = loop
        self.server = server
        let configuration = server.configuration
        headParser = HTTPHeadParser(maxHeadBytes: configuration.maxHeaderBytes)
        decoder = FrameDecoder(role: .server, maxFramePayload: configuration.maxFrameBytes)
        assembler = MessageAssembler(maxMessageBytes: configuration.maxMessageBytes)
        writeQueue = WriteQueue(spare: loop.writeBufferSpare)
        slowConsumerWatch = SlowConsumerWatch(
            highWater: configuration.writeHighWaterBytes, lowWater: configuration.writeLowWaterBytes)
    }

    /// Registers with the loop and arms the handshake timeout.
    func start() throws(SocketError) {
        token = try loop.register(fd: fd, channel: self, interest: interest)
        deadlineTimer = loop.schedule(at: .now + server.configuration.handshakeTimeout) { [weak self] in
            guard let self, case .http = self.stage else { return }
            self.respondAndClose(.requestTimeout())
        }
    }

    // MARK: Reading

    /// Reads at most ``TransportConfiguration/maxReadBytesPerIteration`` bytes, so one peer cannot keep
    /// the loop to itself (epoll is level-triggered: the rest is read in the next iteration), and stops
    /// early once the outbound backlog passes the high-water mark (``flush()`` then pauses reading).
    func readable() {
        loop.assertInEventLoop()
        if inboundPaused {
            flush()
            return
        }
        let buffer = loop.readBuffer
        let highWater = server.configuration.writeHighWaterBytes
        var budget = server.configuration.maxReadBytesPerIteration
        while budget > 0 {
            let size = min(buffer.count, budget)
            let result: IOResult
            do {
                result = try nonBlockingSyscall("read") { read(fd, buffer.baseAddress!, size) }
            } catch {
                finish()
                return
            }
            guard case .processed(let count) = result else { break }
            if count == 0 {
                peerClosedStream()
                return
            }
            budget -= count
            heartbeat?.heard(at: loop.wokeAt)
            process(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if case .closed = stage { return }
            if count < size || inboundPaused || outboundBacklog > highWater { break }
        }
        flush()
    }

    /// Bytes queued for this peer and not yet written: the service's inbox included.
    private var outboundBacklog: Int {
        writeQueue.byteCount + (handle?.inboxBytes ?? 0)
    }

    private func process(_ bytes: UnsafeRawBufferPointer) {
        switch stage {
        case .closed:
            return
        case .draining:
            return  // Input after the close handshake is discarded.
        case .http, .open, .closeSent:
            break
        }
        if inbound.isEmpty {
            let consumed = consume(bytes)
            if consumed < bytes.count, !isClosedOrDraining {
                // A large frame grows the buffer as its bytes arrive: reserving the size its header declares
                // would let idle peers claim gigabytes of address space for a few bytes each.
                inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
            }
        } else {
            inbound.append(contentsOf: bytes)
            consumeBuffered()
        }
    }

    /// Parses what `inbound` holds and keeps the rest.
    private func consumeBuffered() {
        let consumed = inbound.withUnsafeBytes { consume($0) }
        if isClosedOrDraining {
            inbound = []
        } else if consumed == inbound.count {
            inbound = []
        } else if consumed > 0 {
            inbound.removeSubrange(0..<consumed)
        }
    }

    /// The receiver has room again: parses what was left unparsed, then reads the socket again.
    func resumeInbound() {
        loop.assertInEventLoop()
        guard inboundPaused else { return }
        inboundPaused = false
        receiver?.readingResumed()
        switch stage {
        case .open, .closeSent:
            if !inbound.isEmpty { consumeBuffered() }
            // Messages delivered here, outside the loop's read phase, are handed over now.
            if batchEndPending { receiver?.receivedBatchEnd() }
        default:
            break
        }
        if case .closed = stage { return }
        flush()
    }

    private var isClosedOrDraining: Bool { handshake.isClosedOrDraining }

    /// Parses as much as possible; returns the bytes consumed.
    private func consume(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        if case .http = stage {
            guard let head = parseHead(bytes) else { return 0 }
            offset = head
            if case .http = stage { return bytes.count }
        }
        while offset < bytes.count {
            switch stage {
            case .open, .closeSent: break
            default: return bytes.count
            }
            // The receiver is full: the rest waits in `inbound` until it resumes us.
            if inboundPaused { return offset }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let frame: WebSocketFrame
            do {
                if var partial = incomingFrame {
                    incomingFrame = nil  // Taken out while it grows, so its array is not copied on write.
                    offset += partial.take(rest)
                    guard partial.remaining == 0 else {
                        incomingFrame = partial
                        return offset
                    }
                    frame = partial.frame()
                } else {
                    guard let header = try decoder.decodeHeader(rest) else { return offset }
                    let available = rest.count - header.size
                    if available >= header.payloadLength {
                        let payload = UnsafeRawBufferPointer(rebasing: rest[header.size..<(header.size + header.payloadLength)])
                        // The echo endpoint lets go of each message once it is queued back: its payloads can
                        // share one array. A service keeps what it receives: each gets its own, exactly sized.
                        frame =
                            isEcho
                            ? FrameDecoder.frame(header, payload: payload, spare: &payloadSpare)
                            : FrameDecoder.frame(header, payload: payload)
                        offset += header.size + header.payloadLength
                    } else {
                        // Only part of the payload is here: the rest streams into the frame's own array as it
                        // arrives, instead of collecting in `inbound` and being copied again to unmask it.
                        var partial = IncomingFrame(header: header, firstChunk: available)
                        offset += header.size
                        offset += partial.take(UnsafeRawBufferPointer(rebasing: rest[header.size...]))
                        incomingFrame = partial
                        return offset
                    }
                }
                try handle(frame)
            } catch {
                fail(error)
                return bytes.count
            }
        }
        return offset
    }

    // MARK: HTTP

    /// Returns the bytes of the head once complete (nil: need more); sets the stage.
    private func parseHead(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard var parser = headParser else { return nil }
        let parsed: (head: HTTPRequestHead, consumed: Int)?
        do {
            parsed = try parser.parse(bytes)
        } catch {
            respondAndClose(error.response)
            return bytes.count
        }
        headParser = parser
        guard let (head, consumed) = parsed else { return nil }
        headParser = nil
        if let timer = deadlineTimer { loop.cancelTimer(timer) }
        deadlineTimer = nil

        guard UpgradeHandshake.isWebSocketUpgrade(head) else {
            // RFC 9110 §9.3.2: HEAD is answered like GET, without the body.
            respondAndClose(server.respond(to: head), includeBody: head.method != "HEAD")
            return bytes.count
        }
        let service = server.configuration.services[head.path]
        let echo = head.path == server.configuration.echoPath
        guard service != nil || echo else {
            respondAndClose(.notFound("no WebSocket endpoint at \(head.path)"))
            return bytes.count
        }
        guard !server.isDraining else {
            respondAndClose(ServerContext.drainingRefusal)
            return bytes.count
        }
        switch UpgradeHandshake.evaluate(head, policy: server.configuration.handshakePolicy) {
        case .reject(let response):
            respondAndClose(response)
            return bytes.count
        case .accept(let acceptKey, let extensionOffers):
            var extensionHeader: String?
            if server.configuration.perMessageDeflate.enabled,
                let agreed = PerMessageDeflateNegotiation.negotiate(
                    offerHeaderValues: extensionOffers, configuration: server.configuration.perMessageDeflate),
                // If zlib cannot set up its streams (out of memory), carry on without compression.
                let codec = try? PerMessageDeflateCodec(
                    parameters: agreed.parameters, role: .server, configuration: server.configuration.perMessageDeflate)
            {
                deflater = codec
                decoder.allowsRSV1 = true
                assembler = MessageAssembler(maxMessageBytes: server.configuration.maxMessageBytes, inflater: codec)
                extensionHeader = agreed.responseHeaderValue
            }
            queue(HTTPResponse.switchingProtocols(acceptKey: acceptKey, extensions: extensionHeader).serialized())
            handshake.opened()
            isWebSocket = true
            server.connectionOpened()
            startHeartbeat()
            if echo {
                isEcho = true
            } else if let service {
                let handle = ConnectionHandle(
                    id: server.nextConnectionID(), loop: loop, connection: self,
                    usesPerMessageDeflate: deflater != nil,
                    highWater: server.configuration.writeHighWaterBytes,
                    lowWater: server.configuration.writeLowWaterBytes,
                    deflater: deflater, deflateThreshold: server.configuration.perMessageDeflate.threshold,
                    onProducerSuspended: server.configuration.onProducerSuspended)
                self.handle = handle
                let request = UpgradeRequest(head: head, remoteAddress: remoteAddress)
                receiver = service.connectionOpened(handle, request: request)
            }
            return consumed
        }
    }

    /// Answers and ends the connection: the response is written, writing is shut down, and input is
    /// discarded until the peer closes, for at most ``TransportConfiguration/closeTimeout``: a peer that
    /// never closes must not hold its connection slot (every response says `Connection: close`).
    private func respondAndClose(_ response: HTTPResponse, includeBody: Bool = true) {
        queue(response.serialized(includeBody: includeBody))
        apply(handshake.answeredHTTP())
        flush()
    }

    // MARK: WebSocket frames

    private func handle(_ frame: WebSocketFrame) throws(WebSocketProtocolError) {
        guard let event = try assembler.push(frame) else { return }
        switch event {
        case .message(let message):
            guard case .open = stage else { return }  // Data after our close frame is dropped (RFC 6455 §5.5.1).
            if isEcho {
                switch message {
                case .text(let bytes): sendMessage(opcode: .text, payload: bytes)
                case .binary(let bytes): sendMessage(opcode: .binary, payload: bytes)
                }
            } else if let receiver {
                receiver.received(message)
                if !receiver.acceptsMoreInput { inboundPaused = true }
                if !batchEndPending {
                    batchEndPending = true
                    loop.endBatchLater(self)
                }
            }
        case .ping(let payload):
            guard case .open = stage else { return }
            // RFC 6455 §5.5.3: a pong carries the ping's application data. While the socket is not writable,
            // only the latest ping is answered (once it is).
            if interest.contains(.write) {
                pendingPong = payload
            } else {
                queueFrame(opcode: .pong, payload: payload, rsv1: false)
            }
        case .pong:
            break
        case .close(let code, let reason):
            receivedClose(code: code, reason: reason)
        }
    }

    /// Called by the loop once per iteration in which messages were delivered.
    func endBatch() {
        loop.assertInEventLoop()
        batchEndPending = false
        receiver?.receivedBatchEnd()
    }

    private func receivedClose(code: CloseCode?, reason: String) {
        apply(handshake.peerClosed(code: code))
    }

    /// Fails the connection after a protocol error: close frame with the error's code, then drain.
    private func fail(_ error: any Error) {
        let protocolError = error as? WebSocketProtocolError
        apply(
            handshake.failed(code: protocolError?.closeCode ?? .internalError, reason: protocolError?.reason ?? "internal error"))
    }

    /// Starts the close handshake from our side (shutdown, idle peer, slow consumer, service request).
    func initiateClose(code: CloseCode, reason: String) {
        loop.assertInEventLoop()
        apply(handshake.initiate(code: code, reason: reason))
    }

    /// Does what a close-handshake transition asks.
    private func apply(_ effect: CloseHandshake.Effect) {
        if effect.dropPendingPong { pendingPong = nil }
        if let payload = effect.closeFrame { queueFrame(opcode: .close, payload: payload, rsv1: false) }
        if effect.discardInput {
            inboundPaused = false
            inbound = []
            incomingFrame = nil
        }
        if effect.armCloseDeadline { armDeadline(server.configuration.closeTimeout) }
    }

    /// When the deadline passes, the connection is reset: the peer had its chance to finish cleanly.
    private func armDeadline(_ duration: Duration) {
        if let timer = deadlineTimer { loop.cancelTimer(timer) }
        deadlineTimer = loop.schedule(at: .now + duration) { [weak self] in
            guard let self else { return }
            // A reset frees the kernel's state at once (no orphaned FIN_WAIT socket) and tells the peer.
            Socket.resetOnClose(self.fd)
            self.finish()
        }
    }

    // MARK: Writing

    /// Queues one message as a single frame, compressed when negotiated and above the threshold.
    func sendMessage(opcode: WebSocketOpcode, payload: [UInt8]) {
        loop.assertInEventLoop()
        guard case .open = stage else { return }
        if let deflater, payload.count >= server.configuration.perMessageDeflate.threshold {
            let compressed = payload.withUnsafeBytes { deflater.deflate($0) }
            queueFrame(opcode: opcode, payload: compressed, rsv1: true)
        } else {
            queueFrame(opcode: opcode, payload: payload, rsv1: false)
        }
    }

    /// Queues a message as a single frame, never compressed (its producer decided; RSV1 clear).
    func sendUncompressed(opcode: WebSocketOpcode, payload: [UInt8]) {
        loop.assertInEventLoop()
        guard case .open = stage else { return }
        queueFrame(opcode: opcode, payload: payload, rsv1: false)
    }

    /// Queues a message its producer already compressed (permessage-deflate) as a single RSV1 frame.
    func sendCompressed(opcode: WebSocketOpcode, payload: [UInt8]) {
        loop.assertInEventLoop()
        guard case .open = stage else { return }
        queueFrame(opcode: opcode, payload: payload, rsv1: true)
    }

    private func queueFrame(opcode: WebSocketOpcode, payload: [UInt8], rsv1: Bool) {
        withUnsafeTemporaryAllocation(byteCount: 10, alignment: 1) { header in
            let headerCount = FrameEncoder.writeServerHeader(
                opcode: opcode, rsv1: rsv1, payloadLength: payload.count, into: header)
            writeQueue.append(UnsafeRawBufferPointer(rebasing: header[0..<headerCount]))
        }
        // Small payloads are copied next to their header; large ones are queued as their own iovec.
        if payload.count <= WriteQueue.copyLimit {
            payload.withUnsafeBytes { writeQueue.append($0) }
        } else {
            writeQueue.append(payload)
        }
    }

    private func queue(_ bytes: [UInt8]) {
        writeQueue.append(bytes)
    }

    /// Writes what is queued; waits for writability when the socket is full. Pauses reading while the
    /// backlog is above the high-water mark, and resumes it under the low-water mark.
    func flush() {
        loop.assertInEventLoop()
        if case .closed = stage { return }
        var outcome: WriteQueue.FlushOutcome
        do {
            outcome = try writeQueue.flush(to: fd)
            if outcome == .flushed, case .open = stage, let pong = pendingPong {
                // The socket took everything: now the latest ping gets its answer.
                pendingPong = nil
                queueFrame(opcode: .pong, payload: pong, rsv1: false)
                outcome = try writeQueue.flush(to: fd)
            }
        } catch {
            finish()
            return
        }
        if outcome == .flushed, case .draining = stage, !writeShutdown {
            // The server closes the TCP connection first (RFC 6455 §7.1.1); reading on until EOF
            // avoids a reset that could drop our close frame at the peer.
            writeShutdown = true
            shutdown(fd, Int32(SHUT_WR))
        }
        let producersWaiting = handle?.publish(writeQueueBytes: writeQueue.byteCount) ?? false
        if isWebSocket, case .open = stage {
            let backlog = outboundBacklog
            // Read field by field: a copy of the whole configuration costs a retain of each of its references.
            if backlog > server.configuration.writeHighWaterBytes {
                readsPaused = true
            } else if backlog <= server.configuration.writeLowWaterBytes {
                readsPaused = false
            }
            checkBacklog(backlog, producersWaiting: producersWaiting)
            if case .closed = stage { return }
        } else {
            readsPaused = false
        }
        var wanted: SelectorInterest = readsPaused || inboundPaused ? [] : .read
        if outcome == .pending { wanted.insert(.write) }
        setInterest(wanted)
    }

    func writable() {
        loop.assertInEventLoop()
        flush()
    }

    private func setInterest(_ wanted: SelectorInterest) {
        guard wanted != interest else { return }
        interest = wanted
        loop.modify(fd: fd, token: token, interest: wanted)
    }

    /// Enforces the slow-consumer policy (``SlowConsumerWatch``): above the high-water mark (or above the low
    /// one while producers wait), and not yet back to the low-water mark, for too long closes with 1008; so
    /// does a router connection far above it (its sessions produce whether or not the peer sends). The echo
    /// endpoint produces only what it reads, and reading pauses at the high-water mark, so its backlog stays
    /// within the mark plus one message.
    private func checkBacklog(_ backlog: Int, producersWaiting: Bool) {
        switch slowConsumerWatch.observe(backlog: backlog, producersWaiting: producersWaiting, closesFarAboveHighWater: handle != nil) {
        case .none:
            break
        case .closeNow(let backlog):
            closeSlowConsumer("outbound backlog of \(backlog) bytes exceeds 4× the high-water mark")
        case .cancelTimer:
            if let timer = slowConsumerTimer { loop.cancelTimer(timer) }
            slowConsumerTimer = nil
        case .startTimer:
            let timeout = server.configuration.slowConsumerTimeout
            slowConsumerTimer = loop.schedule(at: .now + timeout) { [weak self] in
                guard let self, self.slowConsumerWatch.isWatching else { return }
                self.closeSlowConsumer("peer read too slowly for \(timeout)")
            }
        }
    }

    /// Sends a 1008 close frame on a best-effort basis and drops the connection: a peer that does not
    /// read would never see it in time, and its backlog must not keep growing.
    private func closeSlowConsumer(_ reason: String) {
        guard case .open = stage else { return }
        writeQueue.discardUnstarted()
        initiateClose(code: .policyViolation, reason: "slow consumer: " + reason)
        _ = try? writeQueue.flush(to: fd)
        finish()
    }

    // MARK: Heartbeat

    private func startHeartbeat() {
        let configuration = server.configuration
        heartbeat = Heartbeat(
            interval: configuration.heartbeatInterval, timeout: configuration.heartbeatTimeout, openedAt: .now)
        scheduleHeartbeat()
    }

    private func scheduleHeartbeat() {
        guard let heartbeat else { return }
        heartbeatTimer = loop.schedule(at: heartbeat.nextCheck) { [weak self] in
            self?.heartbeatFired()
        }
    }

    private func heartbeatFired() {
        guard case .open = stage, heartbeat != nil else { return }
        switch heartbeat!.check(at: .now) {
        case .closeSilentPeer(let silence):
            initiateClose(code: .goingAway, reason: "heartbeat timeout: nothing received for \(silence.roundedMilliseconds) ms")
            flush()
            return
        case .sendPing:
            queueFrame(opcode: .ping, payload: [], rsv1: false)
            flush()
        case .wait:
            break
        }
        scheduleHeartbeat()
    }

    // MARK: Statistics

    /// Adds this connection's buffers to `statistics`.
    func addStatistics(to statistics: inout TransportStatistics) {
        loop.assertInEventLoop()
        statistics.connections += 1
        statistics.inboundBufferedBytes += inbound.count + (incomingFrame?.payload.count ?? 0)
        statistics.inboundCapacityBytes += inbound.capacity + (incomingFrame?.payload.capacity ?? 0)
        statistics.outboundBytes += writeQueue.byteCount
    }

    // MARK: Teardown

    private func peerClosedStream() {
        finish()
    }

    /// Releases the socket and tells the receiver, exactly once.
    func finish() {
        loop.assertInEventLoop()
        guard handshake.finished() else { return }
        for timer in [heartbeatTimer, deadlineTimer, slowConsumerTimer].compactMap({ $0 }) { loop.cancelTimer(timer) }
        loop.deregister(fd: fd)
        close(fd)
        inbound = []
        incomingFrame = nil
        writeQueue = WriteQueue()  // nothing is recycled from a closed connection
        pendingPong = nil
        handle?.markClosed()
        handle = nil
        let receiver = self.receiver
        self.receiver = nil
        receiver?.closed(code: handshake.closeCode)
        server.connectionClosed(wasWebSocket: isWebSocket, clientKey: clientKey)
    }

    func forceClose() {
        loop.assertInEventLoop()
        finish()
    }

    /// Server shutdown: close frame for open WebSockets, immediate close otherwise.
    func closeForShutdown(code: CloseCode, reason: String) {
        loop.assertInEventLoop()
        switch stage {
        case .open:
            initiateClose(code: code, reason: reason)
            flush()
        case .http:
            finish()
        default:
            break
        }
    }
}

@available(*, unavailable)
extension Connection: Sendable {}

extension Duration {
    /// Whole milliseconds, for messages.
    var roundedMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// An optional timer in eight bytes (an optional ``TimerQueue/ID`` takes nine, sixteen with padding): a
/// timer queue never hands out ID 0.
private struct TimerSlot {
    private var raw: UInt64 = 0

    init(_ id: TimerQueue.ID? = nil) {
        raw = id?.raw ?? 0
    }

    var id: TimerQueue.ID? { raw == 0 ? nil : TimerQueue.ID(raw: raw) }
}

private struct TimerSlots {
    var heartbeat = TimerSlot()
    var deadline = TimerSlot()
    var slowConsumer = TimerSlot()
}
