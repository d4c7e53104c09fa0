import Dispatch
import Foundation

/// A task executor with threads of its own, apart from Swift's cooperative pool. It keeps up to
/// `coreThreads` threads; past them it grows (up to `maxThreads`) only when jobs wait while no thread
/// has finished a job for ``stallInterval``: when its threads are stuck in jobs that do not return,
/// not merely busy (more threads than cores would only take turns on them, and each thread costs a
/// malloc arena and context switches). Threads beyond `coreThreads` end after `idleTimeout` idle.
///
/// The router runs operations' handlers on one (``RouterExecutors/handlers``) and its own request
/// bookkeeping (timeouts, cancellation, the final event) on another (``RouterExecutors/control``):
/// a handler that spins without checking cancellation occupies one handler thread, never the threads
/// that fire its timeout, nor the cooperative pool, and another client's small request gets a thread
/// of its own rather than waiting behind it.
package final class ThreadPoolExecutor: TaskExecutor, @unchecked Sendable {
    private final class Worker: Sendable {
        let wakeUp = DispatchSemaphore(value: 0)
        let isCore: Bool
        init(isCore: Bool) { self.isCore = isCore }
    }

    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
        var idle: [Worker] = []
        var threads = 0
        /// Workers woken (or started) that have not yet looked for a job. While one is on its way, an
        /// enqueue wakes no one else: a burst of jobs costs one wake-up, then each worker that takes a job
        /// while others remain queued wakes the next (so the pool still grows past stuck handlers).
        var waking = 0
        /// Jobs finished so far, and its value when the pending stall check was scheduled.
        var completed: UInt64 = 0
        /// Workers running a job now.
        var running = 0
        var stallCheck: UInt64?

        mutating func takeJob() -> UnownedJob? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            return job
        }

        var hasQueuedJobs: Bool { head < jobs.count }

        /// Wakes an idle worker, or starts one up to `coreThreads`, unless one is already on its way;
        /// past `coreThreads` it asks for a stall check instead.
        mutating func wakeOne(maxThreads: Int, coreThreads: Int) -> WakeAction {
            guard waking == 0 else { return .none }
            if let worker = idle.popLast() {
                waking += 1
                return .wake(worker)
            }
            if threads < coreThreads {
                threads += 1
                waking += 1
                return .spawn(isCore: true)
            }
            guard threads < maxThreads, stallCheck == nil else { return .none }
            stallCheck = completed
            return .checkForStall
        }

        /// At a stall check: one more thread if jobs still wait and none finished since it was asked for.
        mutating func afterStallCheck(maxThreads: Int, coreThreads: Int) -> WakeAction {
            guard let completedThen = stallCheck else { return .none }
            stallCheck = nil
            guard hasQueuedJobs, waking == 0, idle.isEmpty else { return .none }
            if completed != completedThen {
                stallCheck = completed  // progress: look again later
                return .checkForStall
            }
            guard threads < maxThreads else { return .none }
            threads += 1
            waking += 1
            return .spawn(isCore: threads <= coreThreads)
        }
    }

    private enum WakeAction { case wake(Worker), spawn(isCore: Bool), checkForStall, none }

    /// How long jobs may wait while no thread finishes one before the pool grows past `coreThreads`.
    static let stallInterval: Duration = .milliseconds(5)

    let name: String
    let coreThreads: Int
    let maxThreads: Int
    let idleTimeout: Duration
    /// How long a worker with queued jobs holds back loop wake-ups (``LoopWakeDeferral``), and the timer
    /// that releases them should the worker be stuck.
    let wakeHoldBound: Duration
    /// Workers running jobs at once from which wake-ups may be held back: the CPUs the process may use.
    let saturationThreads: Int
    private let wakeHoldTimer: DeadlineTimer
    private let state = Locked(State())

    init(
        name: String, coreThreads: Int, maxThreads: Int, idleTimeout: Duration = .seconds(2),
        wakeHoldBound: Duration = LoopWakeDeferral.defaultBound, wakeHoldTimer: DeadlineTimer = .shared,
        saturationThreads: Int = ProcessorCount.available
    ) {
        precondition(coreThreads >= 1 && maxThreads >= coreThreads)
        self.name = name
        self.coreThreads = coreThreads
        self.maxThreads = maxThreads
        self.idleTimeout = idleTimeout
        self.wakeHoldBound = wakeHoldBound
        self.wakeHoldTimer = wakeHoldTimer
        self.saturationThreads = saturationThreads
    }

    /// Threads running now (busy or idle).
    var threadCount: Int { state.withLock { $0.threads } }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let action = state.withLock { state -> WakeAction in
            state.jobs.append(job)
            return state.wakeOne(maxThreads: maxThreads, coreThreads: coreThreads)
        }
        perform(action)
    }

    private func perform(_ action: WakeAction) {
        switch action {
        case .wake(let worker): worker.wakeUp.signal()
        case .spawn(let isCore): start(Worker(isCore: isCore))
        case .checkForStall:
            _ = DeadlineTimer.shared.schedule(at: .now + Self.stallInterval) { [self] in
                perform(state.withLock { $0.afterStallCheck(maxThreads: maxThreads, coreThreads: coreThreads) })
            }
        case .none: break
        }
    }

    private func start(_ worker: Worker) {
        let thread = Thread { [self] in
            // Not a loop's batch policy, which it inherits when a loop's work starts it.
            ThreadScheduling.useProcessPolicyForThisThread()
            run(worker)
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func run(_ worker: Worker) {
        let executor = asUnownedTaskExecutor()
        // This thread's held-back loop wake-ups: held while it ends requests with more jobs queued, released
        // before it sleeps, or before a job once they are old (``LoopWakeDeferral``).
        let deferral = LoopWakeDeferral(bound: wakeHoldBound, timer: wakeHoldTimer)
        deferral.install()
        defer { deferral.uninstall() }
        // Started or woken: this worker is the one on its way until it looks at the queue.
        var wasWoken = true
        var ranJob = false
        while true {
            while let (job, next, saturated) = state.withLock({ state -> (UnownedJob, WakeAction, Bool)? in
                if wasWoken {
                    state.waking -= 1
                    wasWoken = false
                }
                if ranJob {
                    state.completed &+= 1
                    state.running -= 1
                    ranJob = false
                }
                guard let job = state.takeJob() else {
                    state.idle.append(worker)
                    return nil
                }
                state.running += 1
                // More jobs queued behind this one: get another worker going.
                let next = state.hasQueuedJobs ? state.wakeOne(maxThreads: maxThreads, coreThreads: coreThreads) : .none
                return (job, next, state.running >= saturationThreads)
            }) {
                perform(next)
                // A wake-up is held back only while this pool's jobs occupy every CPU: otherwise a loop woken
                // now may run on a free one.
                deferral.poolSaturated = saturated
                deferral.releaseIfDue()
                job.runSynchronously(on: executor)
                ranJob = true
            }
            deferral.release()
            wasWoken = true
            if worker.isCore {
                worker.wakeUp.wait()
                continue
            }
            let seconds = Double(idleTimeout.components.seconds) + Double(idleTimeout.components.attoseconds) / 1e18
            if worker.wakeUp.wait(timeout: .now() + seconds) == .success { continue }
            let retired = state.withLock { state -> Bool in
                guard let index = state.idle.firstIndex(where: { $0 === worker }) else { return false }
                state.idle.remove(at: index)
                state.threads -= 1
                return true
            }
            if retired { return }
            // Claimed by an enqueue between the timeout and the lock: its signal is on the way.
            worker.wakeUp.wait()
        }
    }
}

/// The executors the router runs requests on, apart from the cooperative pool and the event loops.
package enum RouterExecutors {
    /// Operations' handlers: one thread per core, growing while all are busy (up to 4 per core, at least 16).
    package static let handlers = ThreadPoolExecutor(
        name: "router-handlers", coreThreads: ProcessorCount.available, maxThreads: max(16, 4 * ProcessorCount.available))
    /// The router's own work per request and session: deadlines, cancellation, final events, sessions
    /// of connections that have no event loop of their own. Never blocks, never runs handler code.
    package static let control = ThreadPoolExecutor(name: "router-control", coreThreads: 1, maxThreads: 8)
}
