@testable import RouterCore
import Testing

/// The heartbeat as a value: instants are computed, never waited for.
@Suite("Heartbeat: pings every interval, closes a peer silent for interval + timeout")
struct HeartbeatTests {
    let opened = ContinuousClock.now

    private func at(_ milliseconds: Int) -> ContinuousClock.Instant { opened + .milliseconds(milliseconds) }

    @Test func thePeerIsPingedEveryIntervalWhileItAnswers() {
        var heartbeat = Heartbeat(interval: .seconds(10), timeout: .seconds(5), openedAt: opened)
        #expect(heartbeat.nextCheck == at(10_000))
        #expect(heartbeat.check(at: at(9_999)) == .wait)
        #expect(heartbeat.check(at: at(10_000)) == .sendPing)
        heartbeat.heard(at: at(10_002))  // the pong
        #expect(heartbeat.nextCheck == at(20_000))
        #expect(heartbeat.check(at: at(20_000)) == .sendPing)
        heartbeat.heard(at: at(20_001))
        #expect(heartbeat.check(at: at(30_000)) == .sendPing)
    }

    @Test func aPeerSilentForIntervalPlusTimeoutIsClosed() {
        var heartbeat = Heartbeat(interval: .seconds(10), timeout: .seconds(5), openedAt: opened)
        #expect(heartbeat.check(at: at(10_000)) == .sendPing)  // no answer comes
        // The next ping would be at 20 s, but the silence becomes too long at 15 s.
        #expect(heartbeat.nextCheck == at(15_000))
        #expect(heartbeat.check(at: at(14_999)) == .wait)
        #expect(heartbeat.check(at: at(15_000)) == .closeSilentPeer(silence: .seconds(15)))
    }

    @Test func anyTrafficCountsAsHeardAndPostponesTheClose() {
        var heartbeat = Heartbeat(interval: .seconds(10), timeout: .seconds(5), openedAt: opened)
        heartbeat.heard(at: at(12_000))  // data, not a pong
        #expect(heartbeat.check(at: at(15_000)) == .sendPing)  // the ping due at 10 s, fired late
        #expect(heartbeat.nextCheck == at(25_000))
        #expect(heartbeat.check(at: at(25_000)) == .sendPing)
        #expect(heartbeat.nextCheck == at(27_000))  // 12 s heard + 10 s + 5 s, before the ping due at 35 s
        #expect(heartbeat.check(at: at(26_999)) == .wait)
        #expect(heartbeat.check(at: at(27_000)) == .closeSilentPeer(silence: .seconds(15)))
    }

    @Test func aLateTimerStillClosesOnlyWhenTheSilenceIsLongEnough() {
        var heartbeat = Heartbeat(interval: .seconds(1), timeout: .seconds(1), openedAt: opened)
        heartbeat.heard(at: at(500))
        // The loop was busy: the timer fires 3 s late; the peer was heard 1.5 s before.
        heartbeat.heard(at: at(1_500))
        #expect(heartbeat.check(at: at(3_000)) == .sendPing)
        #expect(heartbeat.check(at: at(3_500)) == .closeSilentPeer(silence: .seconds(2)))
    }
}
