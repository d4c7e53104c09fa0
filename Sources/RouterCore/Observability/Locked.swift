#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a `pthread_mutex_t`: decide under the lock, act after it.
///
/// Used instead of `Synchronization.Mutex` because, on Linux with this toolchain, ThreadSanitizer
/// does not see `Mutex`'s futex-based ordering and reports every guarded access as a race (checked
/// with an 8-task counter: correct totals, yet "Swift access race" warnings). TSan intercepts pthread
/// mutexes, so `swift test --sanitize=thread` stays meaningful. Never resume continuations or call
/// out to unknown code while holding the lock, except where the lock order is documented.
package final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
