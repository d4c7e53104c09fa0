import Foundation

/// What the timer runs: an object, so that holding one in a group costs no allocation (a closure kept
/// in an array is wrapped in a thunk each way).
protocol TimerAction: AnyObject, Sendable {
    /// Runs on the timer's thread; must be short.
    func timerFired()
}

/// A closure as a ``TimerAction``.
private final class ClosureAction: TimerAction {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    func timerFired() { body() }
}

/// Runs actions at instants of the continuous clock, on one thread of its own.
///
/// A request's timeout is one entry here rather than a task sleeping for it: scheduling and
/// cancelling cost a lock and a heap push, and a request that ends early leaves nothing behind
/// (a cancelled `Task.sleep` keeps its timer until the deadline; at 100 k requests per second and
/// a 120 s timeout that is 12 M timers). Actions run outside the lock, in deadline order, and must
/// be short: they deliver a final event and cancel a task.
final class DeadlineTimer: Sendable {
    /// Cancels one scheduled action; idempotent.
    struct Handle: Sendable {
        fileprivate let id: UInt64
        /// The action's place in its group (``scheduleGrouped``), or nil for an action of its own.
        fileprivate let slot: Int?
        fileprivate let timer: DeadlineTimer

        func cancel() {
            if let slot { timer.cancelGrouped(id, slot: slot) } else { timer.cancel(id) }
        }
    }

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let id: UInt64
    }

    private struct State {
        var nextID: UInt64 = 1
        /// Live actions by id; a heap entry whose id is gone here was cancelled.
        var actions: [UInt64: any TimerAction] = [:]
        /// Min-heap of deadlines (cancelled entries are dropped when they surface, or on compaction).
        var heap: [Entry] = []
        var threadStarted = false
        /// The deadline the thread sleeps until (nil: it waits for work).
        var sleepingUntil: ContinuousClock.Instant?
        /// Groups of actions by the id of their one heap entry (see ``scheduleGrouped``), except the open
        /// one; a cancelled action leaves nil in its slot.
        var groups: [UInt64: [(any TimerAction)?]] = [:]
        /// The group new grouped actions join, while their deadlines fall within its window.
        var openGroup: (id: UInt64, runsAt: ContinuousClock.Instant)?
        /// The open group's actions (appended in place: not through the dictionary).
        var openGroupActions: [(any TimerAction)?] = []
        /// Actions waiting in groups, not cancelled.
        var groupedCount = 0

        func isLive(_ id: UInt64) -> Bool { actions[id] != nil || groups[id] != nil || openGroup?.id == id }
    }

    /// How late a grouped action may run: the width of a group's window.
    static let groupingResolution: Duration = .milliseconds(5)

    /// The process-wide timer of requests on the continuous clock.
    static let shared = DeadlineTimer(name: "router-deadlines")

    private let name: String
    private let state = Locked(State())
    private let wakeUp = ConditionSignal()

    init(name: String) {
        self.name = name
    }

    /// Runs `action` once at `deadline` unless cancelled first.
    func schedule(at deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> Handle {
        let action = ClosureAction(body)
        let (id, startThread, wake) = state.withLock { state -> (UInt64, Bool, Bool) in
            let id = state.nextID
            state.nextID += 1
            state.actions[id] = action
            Self.push(Entry(deadline: deadline, id: id), into: &state.heap)
            let startThread = !state.threadStarted
            state.threadStarted = true
            // Wake the thread only when it would sleep past this deadline.
            let wake = state.sleepingUntil.map { deadline < $0 } ?? true
            return (id, startThread, wake)
        }
        startOrWakeThread(start: startThread, wake: wake)
        return Handle(id: id, slot: nil, timer: self)
    }

    /// Runs `action` once, at `deadline` or up to ``groupingResolution`` after it, never before, unless
    /// cancelled first. The actions whose deadlines fall in one window share one heap entry and run together,
    /// so scheduling one costs an append and cancelling one clears its slot: for an action every request
    /// schedules and most cancel (cancelling releases what the action holds at once, not when its group
    /// comes due).
    func scheduleGrouped(at deadline: ContinuousClock.Instant, _ action: any TimerAction) -> Handle {
        let (id, slot, startThread, wake) = state.withLock { state -> (UInt64, Int, Bool, Bool) in
            state.groupedCount += 1
            if let open = state.openGroup, deadline <= open.runsAt, deadline >= open.runsAt - Self.groupingResolution {
                state.openGroupActions.append(action)
                return (open.id, state.openGroupActions.count - 1, false, false)
            }
            if let open = state.openGroup {
                state.groups[open.id] = state.openGroupActions
                state.openGroupActions = []
            }
            let id = state.nextID
            state.nextID += 1
            let runsAt = deadline + Self.groupingResolution
            state.openGroupActions.append(action)
            state.openGroup = (id, runsAt)
            Self.push(Entry(deadline: runsAt, id: id), into: &state.heap)
            let startThread = !state.threadStarted
            state.threadStarted = true
            let wake = state.sleepingUntil.map { runsAt < $0 } ?? true
            return (id, 0, startThread, wake)
        }
        startOrWakeThread(start: startThread, wake: wake)
        return Handle(id: id, slot: slot, timer: self)
    }

    /// Starts the timer's thread on the first schedule; otherwise wakes it if it sleeps past a new entry.
    private func startOrWakeThread(start: Bool, wake: Bool) {
        if start {
            let thread = Thread { [self] in
                // Not a loop's batch policy (threads inherit their creator's): a deadline fires on time.
                ThreadScheduling.useProcessPolicyForThisThread()
                run()
            }
            thread.name = name
            thread.start()
        } else if wake {
            wakeUp.signal()
        }
    }

    private func cancel(_ id: UInt64) {
        state.withLock { state in
            guard state.actions.removeValue(forKey: id) != nil else { return }
            // Keep the heap within twice the live entries (plus slack): cancelled requests must not
            // pile up until their deadlines.
            if state.heap.count > 2 * (state.actions.count + state.groups.count) + 1_024 {
                let actions = state.actions
                let groups = state.groups
                let open = state.openGroup?.id
                state.heap.removeAll { actions[$0.id] == nil && groups[$0.id] == nil && $0.id != open }
                Self.heapify(&state.heap)
            }
        }
    }

    private func cancelGrouped(_ id: UInt64, slot: Int) {
        // The action is released after the lock: what it holds may take a while to deallocate.
        let action = state.withLock { state -> (any TimerAction)? in
            var action: (any TimerAction)? = nil
            if state.openGroup?.id == id {
                swap(&action, &state.openGroupActions[slot])
            } else if let index = state.groups.index(forKey: id) {
                swap(&action, &state.groups.values[index][slot])
            } else {
                return nil  // already run
            }
            if action != nil { state.groupedCount -= 1 }
            return action
        }
        _ = action
    }

    /// ``scheduleGrouped(at:_:)`` for a closure.
    func scheduleGrouped(at deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) -> Handle {
        scheduleGrouped(at: deadline, ClosureAction(body))
    }

    /// Scheduled actions not yet run nor cancelled (grouped ones included).
    var pendingCount: Int { state.withLock { $0.actions.count + $0.groupedCount } }

    /// Entries in the heap, cancelled ones included (bounded by about twice ``pendingCount``).
    var heapCount: Int { state.withLock { $0.heap.count } }

    private func run() {
        while true {
            let now = ContinuousClock.now
            var due: [any TimerAction] = []
            let sleepUntil = state.withLock { state -> ContinuousClock.Instant? in
                while let first = state.heap.first {
                    guard state.isLive(first.id) else {
                        Self.popFirst(&state.heap)
                        continue
                    }
                    guard first.deadline <= now else { break }
                    Self.popFirst(&state.heap)
                    if let action = state.actions.removeValue(forKey: first.id) {
                        due.append(action)
                    } else if state.openGroup?.id == first.id {
                        let before = due.count
                        due.append(contentsOf: state.openGroupActions.lazy.compactMap { $0 })
                        state.groupedCount -= due.count - before
                        state.openGroupActions.removeAll(keepingCapacity: true)
                        state.openGroup = nil
                    } else if let group = state.groups.removeValue(forKey: first.id) {
                        let before = due.count
                        due.append(contentsOf: group.lazy.compactMap { $0 })
                        state.groupedCount -= due.count - before
                    }
                }
                state.sleepingUntil = due.isEmpty ? state.heap.first?.deadline : now
                return state.sleepingUntil
            }
            if !due.isEmpty {
                for action in due { action.timerFired() }
                continue
            }
            if let sleepUntil {
                wakeUp.wait(for: now.duration(to: sleepUntil))
            } else {
                wakeUp.wait(for: nil)
            }
        }
    }

    // MARK: Binary heap on `deadline`

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func popFirst(_ heap: inout [Entry]) {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(&heap, from: 0)
    }

    private static func siftDown(_ heap: inout [Entry], from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let child = right < heap.count && heap[right].deadline < heap[left].deadline ? right : left
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            parent = child
        }
    }

    private static func heapify(_ heap: inout [Entry]) {
        guard heap.count > 1 else { return }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(&heap, from: index) }
    }
}

/// A wake-up flag a single thread waits on, with an optional time limit (a lost wake-up is impossible:
/// a signal before the wait makes the wait return at once). The limit is measured on the monotonic clock,
/// so a wall-clock step (NTP, an operator's `date`) neither delays nor hastens a deadline, as waiting
/// with `NSCondition.wait(until: Date)` would.
private final class ConditionSignal: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var signalled = false

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func signal() {
        pthread_mutex_lock(mutex)
        signalled = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits for a signal, or until `limit` has passed (nil: no limit).
    func wait(for limit: Duration?) {
        pthread_mutex_lock(mutex)
        defer {
            signalled = false
            pthread_mutex_unlock(mutex)
        }
        guard !signalled else { return }
        guard let limit else {
            while !signalled { pthread_cond_wait(condition, mutex) }
            return
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = max(limit, .zero).components
        let nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var deadline = timespec(
            tv_sec: now.tv_sec + Int(seconds) + nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        // One wait: a spurious wake-up or a timeout returns to the caller, which looks at its heap again.
        _ = pthread_cond_timedwait(condition, mutex, &deadline)
    }
}
