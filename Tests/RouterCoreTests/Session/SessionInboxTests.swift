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
        let inbox = SessionInbox(maxMessages: 10, maxBytes: 1 << 20) {}
        #expect(inbox.push(.text(Array("a".utf8))))
        #expect(inbox.push(.text(Array("b".utf8))))
        #expect(inbox.backlog == 2)
        inbox.wake()
        #expect(texts(await inbox.nextBatch()) == ["a", "b"])
        #expect(inbox.backlog == 0)
    }

    /// A consumer that reuses its batch gets each batch whole and in order, the previous one's inputs gone,
    /// then false once the input has ended.
    @Test func aReusedBatchHoldsOnlyTheNewInputs() async {
        let inbox = SessionInbox(maxMessages: 10, maxBytes: 1 << 20) {}
        var batch: [SessionInput] = []
        #expect(inbox.push(.text(Array("a".utf8))))
        #expect(inbox.push(.text(Array("b".utf8))))
        inbox.wake()
        #expect(await inbox.nextBatch(into: &batch))
        #expect(texts(batch) == ["a", "b"])
        #expect(inbox.push(.text(Array("c".utf8))))
        inbox.wake()
        #expect(await inbox.nextBatch(into: &batch))
        #expect(texts(batch) == ["c"])
        #expect(inbox.push(.text(Array("d".utf8))))
        #expect(inbox.push(.text(Array("e".utf8))))
        inbox.finish(code: .normal)
        #expect(await inbox.nextBatch(into: &batch))
        #expect(texts(batch) == ["d", "e"])
        #expect(batch.count == 3, "the closing follows the messages")
        #expect(await inbox.nextBatch(into: &batch) == false)
        #expect(batch.isEmpty)
    }

    @Test func reachingTheMessageBoundPausesReadingUntilTheConsumerCatchesUp() async {
        let resumed = Locked(0)
        let inbox = SessionInbox(maxMessages: 2, maxBytes: 1 << 20) { resumed.withLock { $0 += 1 } }
        #expect(inbox.push(.text([1])))
        #expect(!inbox.push(.text([2])), "the second message reaches the bound: stop reading")
        #expect(!inbox.push(.text([3])), "nothing is dropped")
        #expect(inbox.backlog == 3)
        inbox.wake()
        #expect(await inbox.nextBatch()?.count == 3)
        #expect(resumed.withLock { $0 } == 0, "resumes only once the batch taken is done with")
        let next = Task { await inbox.nextBatch() }
        while resumed.withLock({ $0 }) == 0 { await Task.yield() }
        #expect(inbox.push(.text([4])))
        inbox.wake()
        #expect(await next.value?.count == 1)
    }

    @Test func theByteBoundCountsTheBatchInProgress() async {
        let resumed = Locked(0)
        let inbox = SessionInbox(maxMessages: 100, maxBytes: 10) { resumed.withLock { $0 += 1 } }
        #expect(inbox.push(.text([UInt8](repeating: 1, count: 6))))
        inbox.wake()
        #expect(await inbox.nextBatch()?.count == 1)
        #expect(inbox.backlogBytes == 6, "the batch being worked on still counts")
        #expect(!inbox.push(.text([UInt8](repeating: 2, count: 4))), "6 + 4 bytes reach the bound")
        inbox.wake()
        #expect(await inbox.nextBatch()?.count == 1)
        #expect(resumed.withLock { $0 } == 1)
    }

    @Test func aWaitingConsumerIsWokenByWakeAfterPushes() async {
        let inbox = SessionInbox(maxMessages: 10, maxBytes: 1 << 20) {}
        let consumer = Task { await inbox.nextBatch() }
        while !inbox.hasWaitingConsumer { await Task.yield() }  // it found nothing and waits
        _ = inbox.push(.text(Array("x".utf8)))
        _ = inbox.push(.text(Array("y".utf8)))
        inbox.wake()
        #expect(texts(await consumer.value) == ["x", "y"])
    }

    @Test func finishDeliversTheCloseThenEnds() async {
        let inbox = SessionInbox(maxMessages: 10, maxBytes: 1 << 20) {}
        _ = inbox.push(.text(Array("last".utf8)))
        inbox.finish(code: .normal)
        _ = inbox.push(.text(Array("late".utf8)))  // ignored: the input has ended
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
        let inbox = SessionInbox(maxMessages: 10, maxBytes: 1 << 20) {}
        let consumer = Task { await inbox.nextBatch() }
        while !inbox.hasWaitingConsumer { await Task.yield() }  // suspended, so only the cancel can end its wait
        consumer.cancel()
        #expect(await consumer.value == nil)
    }
}
