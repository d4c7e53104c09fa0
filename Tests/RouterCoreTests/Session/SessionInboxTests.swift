import Testing

@testable import RouterCore

@Suite struct SessionInboxTests {
    private func texts(_ batch: [SessionInput]?) -> [String] {
        (batch ?? []).compactMap { input in
            if case .message(.text(let bytes)) = input { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
    }

    @Test func aBatchHoldsEverythingQueuedInOrder() async {
        let inbox = SessionInbox()
        #expect(inbox.push(.text(Array("a".utf8)), limit: 10))
        #expect(inbox.push(.text(Array("b".utf8)), limit: 10))
        #expect(inbox.backlog == 2)
        inbox.wake()
        #expect(texts(await inbox.nextBatch()) == ["a", "b"])
        #expect(inbox.backlog == 0)
    }

    @Test func pushBeyondTheLimitIsRefused() {
        let inbox = SessionInbox()
        #expect(inbox.push(.text([1]), limit: 2))
        #expect(inbox.push(.text([2]), limit: 2))
        #expect(!inbox.push(.text([3]), limit: 2))
        #expect(inbox.backlog == 2)
    }

    @Test func aWaitingConsumerIsWokenByWakeAfterPushes() async {
        let inbox = SessionInbox()
        let consumer = Task { await inbox.nextBatch() }
        try? await Task.sleep(for: .milliseconds(20))
        _ = inbox.push(.text(Array("x".utf8)), limit: 10)
        _ = inbox.push(.text(Array("y".utf8)), limit: 10)
        inbox.wake()
        #expect(texts(await consumer.value) == ["x", "y"])
    }

    @Test func finishDeliversTheCloseThenEnds() async {
        let inbox = SessionInbox()
        _ = inbox.push(.text(Array("last".utf8)), limit: 10)
        inbox.finish(code: .normal)
        #expect(!inbox.push(.text(Array("late".utf8)), limit: 10))
        let batch = await inbox.nextBatch()
        #expect(texts(batch) == ["last"])
        guard case .closed(let code)? = batch?.last else {
            Issue.record("the batch does not end with .closed: \(String(describing: batch))")
            return
        }
        #expect(code == .normal)
        #expect(await inbox.nextBatch() == nil)
    }

    @Test func cancellingTheConsumerEndsItsWait() async {
        let inbox = SessionInbox()
        let consumer = Task { await inbox.nextBatch() }
        try? await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        #expect(await consumer.value == nil)
    }
}
