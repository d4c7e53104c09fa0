#if canImport(Glibc)
import Glibc
#endif

/// Linux's `SCHED_BATCH` for the event loops, when `server.batchScheduling` asks for it (off by default);
/// every other thread of the router keeps the default policy.
///
/// A loop is woken by every arriving packet. Under the default policy a woken thread preempts the one
/// running, so on a busy core the loop takes the CPU from a handler mid-request, reads one request and
/// sleeps again: two context switches per request. A `SCHED_BATCH` thread gets the same share of the CPU
/// but does not preempt on wake-up: it runs when the running thread blocks or its time slice ends, and then
/// reads a batch. Measured on one core at 50 × 8 requests in flight: a ten-hit search went from 0.30 to 0.02
/// context switches and from 13.9 to 12.1 µs of CPU per request (BENCHMARKS.md, stop 16).
///
/// Why it is not the default: a thread that does not preempt waits for the scheduler's tick each time it is
/// woken on a core a busy process holds. With a CPU-bound process on the router's core, one client's `ping`
/// took 4.0 ms (p50) under batch against 50–60 µs under the default policy. On cores the router has to itself,
/// turn it on.
///
/// Threads inherit their creator's policy on Linux: the threads a loop's work starts (a pool's, a session
/// executor's, the deadline timer's) go back to the policy the process runs under (``processPolicy``: the
/// default one, unless the operator chose another, e.g. with `chrt`).
enum ThreadScheduling {
    /// Linux's `SCHED_BATCH` (sched.h), which Glibc's module map does not export.
    static let batchPolicy: Int32 = 3

    /// Linux's `SCHED_OTHER`, the default policy.
    static let defaultPolicy: Int32 = 0

    /// The policy and priority the process's threads run under, read on first use, before any loop sets its
    /// own (``useBatchPolicyForThisThread()`` reads it first).
    static let processPolicy: (policy: Int32, priority: Int32) = {
        #if os(Linux)
        var parameters = sched_param()
        _ = sched_getparam(0, &parameters)
        return (sched_getscheduler(0), parameters.sched_priority)
        #else
        return (-1, 0)
        #endif
    }()

    /// Puts the calling thread under `SCHED_BATCH`; returns false where that is not possible (not Linux).
    @discardableResult
    static func useBatchPolicyForThisThread() -> Bool {
        _ = processPolicy  // read while this thread still has the process's policy
        return setPolicyOfThisThread(batchPolicy, priority: 0)
    }

    /// Puts the calling thread back under ``processPolicy`` if a loop's policy was passed on to it; no system
    /// call when it already runs under it (always, unless `server.batchScheduling` is on).
    static func useProcessPolicyForThisThread() {
        let process = processPolicy
        guard policyOfThisThread != process.policy else { return }
        setPolicyOfThisThread(process.policy, priority: process.priority)
    }

    @discardableResult
    private static func setPolicyOfThisThread(_ policy: Int32, priority: Int32) -> Bool {
        #if os(Linux)
        var parameters = sched_param()
        parameters.sched_priority = priority
        return sched_setscheduler(0, policy, &parameters) == 0
        #else
        return false
        #endif
    }

    /// The calling thread's policy (for tests): `batchPolicy` once set.
    static var policyOfThisThread: Int32 {
        #if os(Linux)
        sched_getscheduler(0)
        #else
        -1
        #endif
    }
}
