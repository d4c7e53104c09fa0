@testable import RouterCore
import Testing

@Suite("CloseHandshake: stages, close frames and the connection's close code (RFC 6455 §5.5.1, §7)")
struct CloseHandshakeTests {
    private func opened() -> CloseHandshake {
        var handshake = CloseHandshake()
        handshake.opened()
        return handshake
    }

    @Test func thePeerClosesFirstAndItsCodeIsEchoed() {
        var handshake = opened()
        let effect = handshake.peerClosed(code: .normal)
        #expect(effect.closeFrame == FrameEncoder.closePayload(code: .normal, reason: ""))
        #expect(effect.discardInput && effect.armCloseDeadline && effect.dropPendingPong)
        #expect(handshake.stage == .draining)
        #expect(handshake.closeCode == .normal)
        // A second close frame (the peer misbehaves) changes nothing.
        let second = handshake.peerClosed(code: .goingAway)
        #expect(second == .none)
        #expect(handshake.closeCode == .normal)
    }

    @Test func aCloseWithoutStatusIsAnsweredWithAnEmptyCloseAnd1005() {
        var handshake = opened()
        let effect = handshake.peerClosed(code: nil)
        #expect(effect.closeFrame == [])
        #expect(handshake.closeCode == .noStatusReceived)
    }

    @Test func weCloseFirstThenThePeersAnswerDrainsAndOurCodeStays() {
        var handshake = opened()
        let effect = handshake.initiate(code: .goingAway, reason: "shutting down")
        #expect(effect.closeFrame == FrameEncoder.closePayload(code: .goingAway, reason: "shutting down"))
        #expect(effect.dropPendingPong && effect.armCloseDeadline && !effect.discardInput)
        #expect(handshake.stage == .closeSent)
        let answer = handshake.peerClosed(code: .normal)
        #expect(answer.closeFrame == nil, "no second close frame from us")
        #expect(answer.discardInput)
        #expect(handshake.stage == .draining)
        #expect(handshake.closeCode == .goingAway)
    }

    @Test func onlyAnOpenConnectionCanStartAClose() {
        var fresh = CloseHandshake()
        let effect = fresh.initiate(code: .goingAway, reason: "")
        #expect(effect == .none)
        #expect(fresh.stage == .http)
        var sent = opened()
        _ = sent.initiate(code: .goingAway, reason: "")
        let again = sent.initiate(code: .policyViolation, reason: "")
        #expect(again == .none)
        #expect(sent.closeCode == .goingAway)
    }

    @Test func aProtocolErrorSendsItsCodeOnlyIfOurCloseHasNotGoneOut() {
        var open = opened()
        let effect = open.failed(code: .protocolError, reason: "bad frame")
        #expect(effect.closeFrame == FrameEncoder.closePayload(code: .protocolError, reason: "bad frame"))
        #expect(open.stage == .draining)
        #expect(open.closeCode == .protocolError)
        var closing = opened()
        _ = closing.initiate(code: .goingAway, reason: "")
        let failure = closing.failed(code: .invalidPayload, reason: "bad UTF-8")
        #expect(failure.closeFrame == nil)
        #expect(closing.closeCode == .invalidPayload)
    }

    @Test func aPlainHTTPAnswerDrainsAndTheSocketClosesOnce() {
        var handshake = CloseHandshake()
        let effect = handshake.answeredHTTP()
        #expect(effect.closeFrame == nil && effect.armCloseDeadline && effect.discardInput)
        #expect(handshake.isClosedOrDraining)
        #expect(handshake.closeCode == .abnormalClosure)
        let first = handshake.finished()
        let second = handshake.finished()
        #expect(first && !second)
        let late = handshake.answeredHTTP()
        #expect(late == .none)
    }
}
