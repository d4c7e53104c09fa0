#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which one and the `errno` it left.
package struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system call, e.g. `bind`.
    package let operation: String
    /// The `errno` value.
    package let errno: Int32

    package init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    package var description: String {
        "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// What a non-blocking I/O call did.
enum IOResult: Equatable {
    /// This many bytes were transferred (0 from `read` means end of stream).
    case processed(Int)
    /// The call would block (EAGAIN): wait for readiness.
    case wouldBlock
}

/// Runs a system call, retrying on EINTR and turning -1 into ``SocketError``.
@inline(__always)
func retryingSyscall(_ name: String, _ body: () -> Int) throws(SocketError) -> Int {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SocketError(name, errno: code)
    }
}

/// Like ``retryingSyscall(_:_:)`` but maps EAGAIN/EWOULDBLOCK to ``IOResult/wouldBlock``.
@inline(__always)
func nonBlockingSyscall(_ name: String, _ body: () -> Int) throws(SocketError) -> IOResult {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let code = Glibc.errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SocketError(name, errno: code)
    }
}
