import Foundation

/// A dedicated thread that runs blocking jobs (socket writes) one at a time, in submission order,
/// so async code never blocks the cooperative pool on a full socket buffer.
final class BlockingWorker: @unchecked Sendable {
    // `condition` guards `jobs` and `stopped`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopped = false

    init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Queues `job`; dropped once ``stop()`` was called.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        if !stopped { jobs.append(job) }
        condition.signal()
        condition.unlock()
    }

    /// Runs the jobs already queued, then ends the thread.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            let batch = jobs
            jobs.removeAll()
            let done = stopped
            condition.unlock()
            for job in batch { job() }
            if done && batch.isEmpty { return }
        }
    }
}
