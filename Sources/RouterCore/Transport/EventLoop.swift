import Foundation
import Synchronization
import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// Something registered with an event loop's selector: a listener or a connection. Loop-confined.
protocol SelectableChannel: AnyObject {
    func readable()
    func writable()
    /// The loop is shutting down: release the descriptor now.
    func forceClose()
}

/// One thread running an epoll loop: it waits for readiness, dispatches ready descriptors,
/// runs tasks queued from other threads, and fires due timers.
///
/// Everything except ``execute(_:)``, ``inEventLoop`` and ``shutdown()`` must be called on the loop's
/// own thread. No handler or user code runs here: operations run as Swift tasks.
final class EventLoop: DeferrableWake, @unchecked Sendable {
    private struct Slot {
        var registrationID: UInt32 = 0
        var channel: (any SelectableChannel)?
    }

    /// Work queued for the loop thread: a closure, or an object (a connection's drain: no closure to
    /// allocate for each message it flushes).
    enum QueuedTask {
        case closure(@Sendable () -> Void)
        case object(any LoopTask)
    }

    private struct TaskQueue {
        var tasks: [QueuedTask] = []
        var stopping = false
    }

    let selector: Selector
    /// A scratch buffer reads land in before parsing; shared by every connection of the loop.
    let readBuffer: UnsafeMutableRawBufferPointer
    let index: Int
    /// Whether its thread runs under `SCHED_BATCH`.
    let batchScheduling: Bool
    /// The emptied write buffer the loop's connections pass on to each other (see ``WriteBufferSpare``).
    let writeBufferSpare = WriteBufferSpare()
    /// Where the sessions of this loop's connections run; its wake-ups are batched per iteration.
    let sessionExecutor: BatchingTaskExecutor

    private let queue = Locked(TaskQueue())
    private let threadID = Atomic<UInt>(0)
    /// The CPU the loop's thread last went to sleep on (-1 before it first did).
    private let sleepsOnCPU = Atomic<Int32>(-1)
    @exclusivity(unchecked) private var slots: [Slot] = []
    @exclusivity(unchecked) private var timers = TimerQueue()
    private var nextRegistrationID: UInt32 = 0
    private var running = true
    /// Connections that delivered messages during this iteration (see ``WebSocketReceiver/receivedBatchEnd()``).
    @exclusivity(unchecked) private var batchEnds: [Connection] = []
    /// The queue's other buffer (see ``runQueuedTasks()``). Loop-confined.
    @exclusivity(unchecked) private var spareTasks: [QueuedTask] = []
    /// When the loop woke for the events it is handling: one clock read per iteration, not one per read, for
    /// what needs the time only roughly (when a peer was last heard). Loop-confined.
    @exclusivity(unchecked) private(set) var wokeAt: ContinuousClock.Instant = .now
    private let finished = Locked<[CheckedContinuation<Void, Never>]?>([])

    /// `batchScheduling`: the loop's thread runs under `SCHED_BATCH` (``ThreadScheduling``).
    init(index: Int, readBufferSize: Int = 256 * 1024, batchScheduling: Bool = false) throws(SocketError) {
        self.index = index
        self.batchScheduling = batchScheduling
        selector = try Selector()
        sessionExecutor = BatchingTaskExecutor(name: "memory-router-sessions-\(index)")
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts the loop's thread.
    func start() {
        let thread = Thread { [self] in
            threadID.store(UInt(pthread_self()), ordering: .releasing)
            if batchScheduling { ThreadScheduling.useBatchPolicyForThisThread() }
            run()
        }
        thread.name = "memory-router-loop-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Whether the caller is on this loop's thread.
    var inEventLoop: Bool {
        UInt(pthread_self()) == threadID.load(ordering: .acquiring)
    }

    /// Debug builds only: traps unless the caller is on this loop's thread, or the thread has not started
    /// yet (channels may be registered before ``start()``). Loop-confined types call it at their entry points.
    @inline(__always)
    func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(
            threadID.load(ordering: .acquiring) == 0 || inEventLoop,
            "loop-confined state of event loop \(index) used from another thread", file: file, line: line)
    }

    /// Runs `task` on the loop thread soon. Callable from any thread.
    func execute(_ task: @escaping @Sendable () -> Void) {
        enqueue(.closure(task))
    }

    /// Runs `task.runOnLoop()` on the loop thread soon. Callable from any thread.
    func execute(_ task: any LoopTask) {
        enqueue(.object(task))
    }

    private func enqueue(_ task: QueuedTask) {
        let wasEmpty = queue.withLock { state -> Bool in
            let empty = state.tasks.isEmpty
            state.tasks.append(task)
            return empty
        }
        guard wasEmpty else { return }
        // A pool worker ending a request holds back the wake-up of a loop that sleeps on its own CPU, which
        // would preempt it (``LoopWakeDeferral``); a loop on another CPU is woken at once.
        if let deferral = LoopWakeDeferral.current, sleepsOnCPU.load(ordering: .relaxed) == sched_getcpu(),
            deferral.hold(self)
        {
            return
        }
        selector.wakeUp()
    }

    /// Wakes the loop's thread if it sleeps (``DeferrableWake``).
    func wakeUp() {
        selector.wakeUp()
    }

    /// Releases a loop whose thread was never started (the server failed to start): ends its session
    /// executor's thread.
    func discard() {
        slots = []
        sessionExecutor.shutdown()
    }

    /// Whether the loop still takes new channels (false once it began stopping). Loop-confined.
    var isRunning: Bool {
        assertInEventLoop()
        return running
    }

    /// Asks the loop to stop: every registered channel is force-closed and the thread ends.
    func shutdown() {
        queue.withLock { $0.stopping = true }
        selector.wakeUp()
    }

    /// Suspends until the loop's thread has finished.
    func waitUntilFinished() async {
        await withCheckedContinuation { continuation in
            let done = finished.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    // MARK: Loop-confined API

    /// Registers a descriptor (on the loop's thread, or before ``start()``); returns its token.
    func register(
        fd: Int32, channel: any SelectableChannel, interest: SelectorInterest, exclusive: Bool = false
    ) throws(SocketError) -> UInt64 {
        assertInEventLoop()
        let index = Int(fd)
        if index >= slots.count {
            slots.append(contentsOf: repeatElement(Slot(), count: max(index + 1 - slots.count, slots.count)))
        }
        nextRegistrationID &+= 1
        if nextRegistrationID == .max { nextRegistrationID = 1 }
        let token = UInt64(nextRegistrationID) << 32 | UInt64(UInt32(bitPattern: fd))
        slots[index] = Slot(registrationID: nextRegistrationID, channel: channel)
        do {
            try selector.register(fd: fd, token: token, interest: interest, exclusive: exclusive)
        } catch {
            slots[index] = Slot()
            throw error
        }
        return token
    }

    func modify(fd: Int32, token: UInt64, interest: SelectorInterest) {
        assertInEventLoop()
        selector.modify(fd: fd, token: token, interest: interest)
    }

    /// Removes a descriptor (before it is closed).
    func deregister(fd: Int32) {
        assertInEventLoop()
        selector.deregister(fd: fd)
        if Int(fd) < slots.count { slots[Int(fd)] = Slot() }
    }

    /// Runs `action` on the loop at `deadline`.
    @discardableResult
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping () -> Void) -> TimerQueue.ID {
        assertInEventLoop()
        return timers.schedule(at: deadline, action)
    }

    /// Every registered channel (listeners and connections).
    func registeredChannels() -> [any SelectableChannel] {
        assertInEventLoop()
        return slots.compactMap(\.channel)
    }

    func cancelTimer(_ id: TimerQueue.ID) {
        assertInEventLoop()
        timers.cancel(id)
    }

    private func run() {
        while running {
            let timeout: Int32
            if let deadline = timers.nextDeadline() {
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero {
                    timeout = 0
                } else {
                    let (seconds, attoseconds) = remaining.components
                    let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
                    timeout = Int32(clamping: millis)
                }
            } else {
                timeout = -1
            }
            var holding = false
            sleepsOnCPU.store(sched_getcpu(), ordering: .relaxed)
            selector.wait(timeoutMilliseconds: timeout) { event in
                if !holding {
                    // Sessions resumed while handling this iteration's events start together, at its end.
                    sessionExecutor.hold()
                    holding = true
                    wokeAt = .now
                }
                let fd = Int(UInt32(truncatingIfNeeded: event.token))
                let registration = UInt32(truncatingIfNeeded: event.token >> 32)
                guard fd < slots.count, slots[fd].registrationID == registration, let channel = slots[fd].channel else {
                    return
                }
                if event.writable { channel.writable() }
                // The write handler may have closed the channel: look it up again.
                if event.readable, slots[fd].registrationID == registration, let channel = slots[fd].channel {
                    channel.readable()
                }
            }
            endBatches()
            runQueuedTasks()
            if !timers.isEmpty {
                let now = ContinuousClock.now
                for action in timers.popDue(now: now) { action() }
            }
            if holding { sessionExecutor.release() }
        }
        for slot in slots { slot.channel?.forceClose() }
        slots = []
        runQueuedTasks()
        sessionExecutor.shutdown()
        let waiters = finished.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            let current = waiters ?? []
            waiters = nil
            return current
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Asks the loop to call `connection.endBatch()` once, at the end of this iteration.
    func endBatchLater(_ connection: Connection) {
        assertInEventLoop()
        batchEnds.append(connection)
    }

    private func endBatches() {
        guard !batchEnds.isEmpty else { return }
        let connections = batchEnds
        batchEnds.removeAll(keepingCapacity: true)
        for connection in connections { connection.endBatch() }
    }

    private func runQueuedTasks() {
        // Two buffers swapped in turn, so that queueing reuses capacity instead of allocating each time.
        var tasks = spareTasks
        spareTasks = []
        let stopping = queue.withLock { state in
            swap(&tasks, &state.tasks)
            return state.stopping
        }
        for task in tasks {
            switch task {
            case .closure(let closure): closure()
            case .object(let object): object.runOnLoop()
            }
        }
        tasks.removeAll(keepingCapacity: true)
        spareTasks = tasks
        if stopping { running = false }
    }
}

/// Work an object queues on an event loop without a closure (``EventLoop/execute(_:)``).
protocol LoopTask: AnyObject, Sendable {
    /// Runs on the loop's thread.
    func runOnLoop()
}
