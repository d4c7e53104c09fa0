#if canImport(Glibc)
import Glibc
#endif

/// The scheduling policy of the router's own threads (event loops, session executors, handler and control
/// pools): Linux's `SCHED_BATCH`.
///
/// Those threads hand work to each other (loop → session → handler → loop). Under the default policy a
/// thread woken by such a hand-over, or by a socket becoming readable, preempts the one running: on a busy
/// core, a loop woken by each arriving packet reads one request at a time, and every request costs two
/// context switches. A `SCHED_BATCH` thread gets the same share of the CPU but does not preempt on
/// wake-up: it runs when the running thread blocks or its time slice ends, and then finds a batch of work
/// waiting. On an idle core a woken thread runs at once, as before. Measured on one core at 50 × 8
/// requests in flight: a ten-hit search went from 0.48 to 0.02 context switches per request (BENCHMARKS.md,
/// stop 16). The price: under full load, I/O waits up to one scheduler slice (about a millisecond)
/// behind a running handler rather than taking its core at once.
///
/// A thread started from one of them inherits the policy (Linux threads do). The deadline timer's thread,
/// started by whichever thread first schedules a deadline, sets the default policy back: a deadline fires
/// on time.
enum ThreadScheduling {
    /// Linux's `SCHED_BATCH` (sched.h), which Glibc's module map does not export.
    static let batchPolicy: Int32 = 3

    /// Puts the calling thread under `SCHED_BATCH`; returns false where that is not possible (not Linux).
    @discardableResult
    static func useBatchPolicyForThisThread() -> Bool {
        #if os(Linux)
        var parameters = sched_param()
        parameters.sched_priority = 0
        return sched_setscheduler(0, batchPolicy, &parameters) == 0
        #else
        return false
        #endif
    }

    /// Puts the calling thread back under the default policy (`SCHED_OTHER`).
    @discardableResult
    static func useDefaultPolicyForThisThread() -> Bool {
        #if os(Linux)
        var parameters = sched_param()
        parameters.sched_priority = 0
        return sched_setscheduler(0, SCHED_OTHER, &parameters) == 0
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
