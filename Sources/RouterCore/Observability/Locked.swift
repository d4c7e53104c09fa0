import CLinuxShims
import Synchronization

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
///
/// One allocation: the mutex lives in the same heap object as the value (a `ManagedBuffer`'s tail), since
/// a request makes several of these. Copies of a `Locked` share the one guarded value.
package struct Locked<Value>: @unchecked Sendable {
    private let storage: LockedStorage<Value>

    package init(_ value: Value) {
        storage = LockedStorage<Value>.make(value)
    }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try storage.withUnsafeMutablePointers { value, mutex in
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }
    }
}

/// The value as the header of a managed buffer whose one element is the mutex.
private final class LockedStorage<Value>: ManagedBuffer<Value, pthread_mutex_t> {
    static func make(_ value: Value) -> LockedStorage<Value> {
        let buffer = create(minimumCapacity: 1) { _ in value }
        buffer.withUnsafeMutablePointerToElements { mutex in
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
        }
        return unsafeDowncast(buffer, to: LockedStorage<Value>.self)
    }

    /// Destroys the mutex; `ManagedBuffer` destroys the header (the value) itself.
    deinit {
        withUnsafeMutablePointerToElements { mutex in
            pthread_mutex_destroy(mutex)
            mutex.deinitialize(count: 1)
        }
    }
}

/// A value guarded by a `Synchronization.Mutex` kept inline in its owner: no allocation of its own, for
/// the objects made per request (its run and its channel, the harness's cancel signal), where a ``Locked``
/// was one more object each.
///
/// ThreadSanitizer does not see `Mutex`'s futex-based ordering (see ``Locked``), so each critical
/// section tells it: an acquire on the lock's own address when it starts and a release when it
/// ends (`__tsan_acquire`/`__tsan_release`, which do nothing in a process without TSan's runtime).
package struct InlineLocked<Value: Sendable>: ~Copyable, Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: consuming Value) {
        mutex = Mutex(value)
    }

    package borrowing func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        // `Mutex.withLock` wants a `sending` result: the body's crosses its closure in a local instead.
        // The annotations' address is this struct's own (borrowed in place: taking it is no access TSan would
        // order); the guarded value is only touched between them.
        let address = withUnsafePointer(to: self) { UnsafeMutableRawPointer(mutating: $0) }
        var result: Result?
        mutex.withLock { value in
            clinux_tsan_acquire(address)
            defer { clinux_tsan_release(address) }
            result = body(&value)
        }
        return result!
    }
}
