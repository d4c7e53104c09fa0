
/// The server-wide count of in-flight requests, shared by every session of a ``RouterService``.
final class InFlightLimiter: Sendable {
    let limit: Int
    private let count = Locked(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a slot if one is free.
    func tryAcquire() -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func release() { count.withLock { $0 -= 1 } }

    var current: Int { count.withLock { $0 } }
}
