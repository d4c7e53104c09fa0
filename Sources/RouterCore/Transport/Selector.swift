import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// Readiness interest for a registered descriptor.
struct SelectorInterest: OptionSet {
    let rawValue: UInt8
    static let read = SelectorInterest(rawValue: 1)
    static let write = SelectorInterest(rawValue: 2)

    /// The epoll bits; the only place Linux constants appear.
    /// Without `.read`, the peer's half-close is not reported either (reading is paused); errors and
    /// hang-ups always are.
    var epollEvents: UInt32 {
        var events: UInt32 = 0
        if contains(.read) { events |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        if contains(.write) { events |= EPOLLOUT.rawValue }
        return events
    }
}

/// One readiness event: the registration token and what is ready.
struct SelectorEvent {
    /// The token given at registration (registration id in the high 32 bits, descriptor in the low 32).
    var token: UInt64
    var readable: Bool
    var writable: Bool
}

/// epoll plus an eventfd used to wake the loop from other threads.
final class Selector {
    private let epollFD: Int32
    /// Wakes `wait` from another thread; the only member safe to use off the loop.
    let wakeFD: Int32
    private var events: UnsafeMutablePointer<epoll_event>
    private let capacity = 1024
    static let wakeToken: UInt64 = .max

    init() throws(SocketError) {
        epollFD = Int32(try retryingSyscall("epoll_create1") { Int(epoll_create1(Int32(EPOLL_CLOEXEC))) })
        wakeFD = Int32(try retryingSyscall("eventfd") { Int(eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))) })
        events = .allocate(capacity: capacity)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
    }

    deinit {
        events.deallocate()
        close(wakeFD)
        close(epollFD)
    }

    /// Adds a descriptor. `exclusive` (`EPOLLEXCLUSIVE`) is for a socket several loops wait on: one
    /// event wakes one of them. It cannot be changed later with ``modify(fd:token:interest:)``.
    func register(fd: Int32, token: UInt64, interest: SelectorInterest, exclusive: Bool = false) throws(SocketError) {
        var event = epoll_event()
        // EPOLLEXCLUSIVE takes EPOLLIN/EPOLLOUT only (EINVAL with EPOLLRDHUP); a listener needs no more.
        event.events = exclusive ? interest.epollEvents & ~EPOLLRDHUP.rawValue | EPOLLEXCLUSIVE.rawValue : interest.epollEvents
        event.data.u64 = token
        _ = try retryingSyscall("epoll_ctl(ADD)") { Int(epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)) }
    }

    func modify(fd: Int32, token: UInt64, interest: SelectorInterest) {
        var event = epoll_event()
        event.events = interest.epollEvents
        event.data.u64 = token
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func deregister(fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
    }

    /// Wakes a thread blocked in ``wait(timeoutMilliseconds:_:)``. Thread-safe.
    func wakeUp() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Waits for events (-1 = forever) and calls `body` for each; wake-ups are consumed here.
    func wait(timeoutMilliseconds: Int32, _ body: (SelectorEvent) -> Void) {
        let count = epoll_wait(epollFD, events, Int32(capacity), timeoutMilliseconds)
        guard count > 0 else { return }
        for index in 0..<Int(count) {
            let event = events[index]
            let token = event.data.u64
            if token == Self.wakeToken {
                var value: UInt64 = 0
                _ = read(wakeFD, &value, 8)
                continue
            }
            let bits = event.events
            body(
                SelectorEvent(
                    token: token,
                    readable: bits & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                    writable: bits & EPOLLOUT.rawValue != 0))
        }
    }
}
