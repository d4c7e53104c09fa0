import Foundation

/// A task executor with one thread, whose wake-ups an event loop batches: jobs enqueued while the loop
/// holds it (from the end of `epoll_wait` to the end of the iteration) do not wake its sleeping thread;
/// the loop's release does, once, and the thread runs all of them. (A thread still awake simply takes
/// them as it goes.)
///
/// The router's session tasks prefer their connection's loop executor. A loop iteration that reads
/// fifty connections resumes fifty session tasks; on the global pool each resumption would wake a
/// worker that preempts the loop, handles one connection and sleeps again — two context switches per
/// connection. Here it is one wake-up per iteration. Only session bookkeeping runs on this thread
/// (parse, dispatch, queueing replies: never blocking); requests run on the global executor.
///
/// After ``shutdown()`` jobs are forwarded to the global executor, so a task that still prefers this
/// executor always runs.
final class BatchingTaskExecutor: TaskExecutor, @unchecked Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var held = false
        var sleeping = false
        var stopped = false

        /// Whether the thread must be signalled: it sleeps, and is now marked awake.
        mutating func wakeSleeper() -> Bool {
            guard sleeping else { return false }
            sleeping = false
            return true
        }
    }

    private let state = Locked(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    init(name: String) {
        let thread = Thread { [self] in
            // Not the batch policy of the loop that makes it (threads inherit their creator's policy).
            ThreadScheduling.useProcessPolicyForThisThread()
            run()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let (signal, forward) = state.withLock { state -> (Bool, Bool) in
            if state.stopped { return (false, true) }
            state.jobs.append(job)
            return (!state.held && state.wakeSleeper(), false)
        }
        if forward {
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
            return
        }
        if signal { wakeUp.signal() }
    }

    /// Whether the thread is asleep waiting for a signal, and how many jobs wait for it (for tests).
    var sleepingWithQueuedJobs: (sleeping: Bool, queued: Int) {
        state.withLock { ($0.sleeping, $0.jobs.count) }
    }

    /// From the loop thread: jobs enqueued from now on do not wake the thread; ``release()`` will.
    func hold() {
        state.withLock { $0.held = true }
    }

    /// From the loop thread: wakes the executor's thread once if jobs are waiting.
    func release() {
        let signal = state.withLock { state -> Bool in
            state.held = false
            return !state.jobs.isEmpty && state.wakeSleeper()
        }
        if signal { wakeUp.signal() }
    }

    /// Runs what is queued, then ends the thread; later jobs run on the global executor.
    func shutdown() {
        let signal = state.withLock { state -> Bool in
            state.stopped = true
            state.held = false
            return state.wakeSleeper()
        }
        if signal { wakeUp.signal() }
    }

    private func run() {
        while true {
            let (jobs, stopped) = state.withLock { state -> ([UnownedJob], Bool) in
                let jobs = state.jobs
                state.jobs = []
                if jobs.isEmpty && !state.stopped { state.sleeping = true }
                return (jobs, state.stopped)
            }
            if jobs.isEmpty {
                if stopped { return }
                wakeUp.wait()
                continue
            }
            let executor = asUnownedTaskExecutor()
            for job in jobs { job.runSynchronously(on: executor) }
        }
    }
}
