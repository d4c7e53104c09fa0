#if canImport(Glibc)
import Glibc
#endif

/// Something a thread wakes once it has queued work for it: an event loop.
protocol DeferrableWake: AnyObject, Sendable {
    func wakeUp()
}

/// The wake-ups a pool worker holds back while it ends a request and more jobs wait for it.
///
/// A handler thread that delivers a request's final event queues the message on its connection's loop
/// and wakes the loop. When the loop sleeps on the same CPU, the wake-up preempts the handler thread:
/// under load, one context switch per handful of requests, and the loop writes a handful of replies per
/// iteration. Held back instead, the worker goes on with its queued jobs and the loop, woken once, writes
/// them all. A held wake-up is released (see DESIGN-NOTES §3):
/// - when the worker finds no queued job, before it sleeps;
/// - before the worker starts another job once ``bound`` (1 ms) has passed since the first was held;
/// - by the deadline timer, at most ``bound`` plus its grouping resolution (5 ms) after the first was held,
///   should the worker be stuck in a long job.
///
/// Only a worker's own thread holds wake-ups (``current``), only inside ``deferringWakes(_:)`` (progress,
/// chunks and anything sent in the middle of a handler wake their loop at once), and only while its pool's
/// running jobs occupy every CPU the process may use (otherwise the loop may run on a free one).
final class LoopWakeDeferral: TimerAction, @unchecked Sendable {
    /// How long a worker with queued jobs holds a wake-up, by default.
    static let defaultBound: Duration = .milliseconds(1)

    private struct Held {
        var targets: [any DeferrableWake] = []
        var timerPending = false
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The calling thread's deferral, if it is a pool worker that installed one.
    static var current: LoopWakeDeferral? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<LoopWakeDeferral>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Runs `body` with the calling thread's wake-ups held back, if it is a pool worker.
    static func deferringWakes<Result>(_ body: () throws -> Result) rethrows -> Result {
        guard let deferral = current else { return try body() }
        deferral.deferring = true
        defer { deferral.deferring = false }
        return try body()
    }

    /// How long a worker with queued jobs holds a wake-up.
    let bound: Duration
    private let timer: DeadlineTimer
    private let held = Locked(Held())
    /// The owning thread's: inside ``deferringWakes(_:)``.
    private var deferring = false
    /// The owning thread's: whether its pool's running jobs occupy every CPU (set by the pool for each job).
    /// Only then is a wake-up held: with a CPU free, a loop woken at once may run there.
    var poolSaturated = true
    /// The owning thread's: when the first wake-up still held was held.
    private var heldSince: ContinuousClock.Instant?

    init(bound: Duration = LoopWakeDeferral.defaultBound, timer: DeadlineTimer = .shared) {
        self.bound = bound
        self.timer = timer
    }

    /// Makes this the calling thread's deferral until ``uninstall()``, which the thread calls before this
    /// object may go.
    func install() {
        pthread_setspecific(Self.key, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Releases what is held, and leaves the calling thread without a deferral.
    func uninstall() {
        release()
        pthread_setspecific(Self.key, nil)
    }

    /// Holds `target`'s wake-up if the owning thread is inside ``deferringWakes(_:)`` and its pool's running
    /// jobs occupy every CPU; returns whether it did (if not, the caller wakes it). Owning thread only.
    func hold(_ target: any DeferrableWake) -> Bool {
        guard deferring, poolSaturated else { return false }
        let now = ContinuousClock.now
        let scheduleTimer = held.withLock { held -> Bool in
            if !held.targets.contains(where: { $0 === target }) { held.targets.append(target) }
            guard !held.timerPending else { return false }
            held.timerPending = true
            return true
        }
        if heldSince == nil { heldSince = now }
        if scheduleTimer { _ = timer.scheduleGrouped(at: now + bound, self) }
        return true
    }

    /// Releases the held wake-ups if the first was held at least ``bound`` ago (reads the clock only while
    /// something is held). Owning thread only.
    func releaseIfDue() {
        guard let heldSince, ContinuousClock.now - heldSince >= bound else { return }
        release()
    }

    /// Releases the held wake-ups. Owning thread only.
    func release() {
        guard heldSince != nil else { return }
        heldSince = nil
        releaseHeld()
    }

    /// The safety net: a worker stuck in a long job releases nothing itself. One timer entry at a time: one
    /// scheduled for an earlier hold fires early for a later one, never late.
    func timerFired() {
        releaseHeld(timerFired: true)
    }

    private func releaseHeld(timerFired: Bool = false) {
        let targets = held.withLock { held -> [any DeferrableWake] in
            if timerFired { held.timerPending = false }
            defer { held.targets = [] }
            return held.targets
        }
        for target in targets { target.wakeUp() }
    }
}
