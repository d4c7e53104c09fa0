import Dispatch
import Foundation

/// A task executor with threads of its own, apart from Swift's cooperative pool: it grows a thread
/// whenever a job arrives and every thread is busy (up to `maxThreads`), and threads beyond
/// `coreThreads` end after `idleTimeout` without work.
///
/// The router runs operations' handlers on one (``RouterExecutors/handlers``) and its own request
/// bookkeeping (timeouts, cancellation, the final event) on another (``RouterExecutors/control``):
/// a handler that spins without checking cancellation occupies one handler thread, never the threads
/// that fire its timeout, nor the cooperative pool, and another client's small request gets a thread
/// of its own rather than waiting behind it.
public final class ThreadPoolExecutor: TaskExecutor, @unchecked Sendable {
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

        /// Wakes an idle worker, or starts one, unless one is already on its way.
        mutating func wakeOne(maxThreads: Int, coreThreads: Int) -> WakeAction {
            guard waking == 0 else { return .none }
            if let worker = idle.popLast() {
                waking += 1
                return .wake(worker)
            }
            guard threads < maxThreads else { return .none }
            threads += 1
            waking += 1
            return .spawn(isCore: threads <= coreThreads)
        }
    }

    private enum WakeAction { case wake(Worker), spawn(isCore: Bool), none }

    public let name: String
    public let coreThreads: Int
    public let maxThreads: Int
    public let idleTimeout: Duration
    private let state = Locked(State())

    public init(name: String, coreThreads: Int, maxThreads: Int, idleTimeout: Duration = .seconds(2)) {
        precondition(coreThreads >= 1 && maxThreads >= coreThreads)
        self.name = name
        self.coreThreads = coreThreads
        self.maxThreads = maxThreads
        self.idleTimeout = idleTimeout
    }

    /// Threads running now (busy or idle).
    public var threadCount: Int { state.withLock { $0.threads } }

    public func enqueue(_ job: consuming ExecutorJob) {
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
        case .none: break
        }
    }

    private func start(_ worker: Worker) {
        let thread = Thread { [self] in run(worker) }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func run(_ worker: Worker) {
        let executor = asUnownedTaskExecutor()
        // Started or woken: this worker is the one on its way until it looks at the queue.
        var wasWoken = true
        while true {
            while let (job, next) = state.withLock({ state -> (UnownedJob, WakeAction)? in
                if wasWoken {
                    state.waking -= 1
                    wasWoken = false
                }
                guard let job = state.takeJob() else {
                    state.idle.append(worker)
                    return nil
                }
                // More jobs queued behind this one: get another worker going.
                let next = state.hasQueuedJobs ? state.wakeOne(maxThreads: maxThreads, coreThreads: coreThreads) : .none
                return (job, next)
            }) {
                perform(next)
                job.runSynchronously(on: executor)
            }
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
public enum RouterExecutors {
    /// Operations' handlers: one thread per core, growing while all are busy (up to 4 per core, at least 16).
    public static let handlers = ThreadPoolExecutor(
        name: "router-handlers", coreThreads: ProcessorCount.available, maxThreads: max(16, 4 * ProcessorCount.available))
    /// The router's own work per request and session: deadlines, cancellation, final events, sessions
    /// of connections that have no event loop of their own. Never blocks, never runs handler code.
    public static let control = ThreadPoolExecutor(name: "router-control", coreThreads: 1, maxThreads: 8)
}
