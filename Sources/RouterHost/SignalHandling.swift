import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into an async sequence of signal numbers.
///
/// The handlers are installed with `sigaction` before `init` returns, so a signal sent right after the host
/// says it listens is never lost (a `DispatchSource` registers its handler asynchronously: under load a
/// SIGTERM in that window was ignored and the host never stopped). The handler only writes the signal
/// number to a pipe (async-signal-safe); a thread of its own reads the pipe and yields the numbers. A
/// second signal can then be handled as "exit now".
final class TerminationSignals: Sendable {
    /// The pipe's write end, for the C signal handler (set once, before any handler is installed).
    nonisolated(unsafe) private static var writeFD: Int32 = -1

    private let continuation: AsyncStream<Int32>.Continuation
    /// The signals as they arrive.
    let signals: AsyncStream<Int32>

    init(_ numbers: [Int32] = [SIGINT, SIGTERM]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        signals = stream
        self.continuation = continuation
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            // No pipe (out of descriptors): keep the default actions, which end the process.
            return
        }
        let (readFD, writeFD) = (fds[0], fds[1])
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
        Self.writeFD = writeFD
        let reader = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count == 1 { continuation.yield(Int32(byte)) } else if count < 0, errno == EINTR { continue } else { return }
            }
        }
        reader.name = "router-host-signals"
        reader.start()
        for number in numbers {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                var byte = UInt8(truncatingIfNeeded: signal)
                _ = write(TerminationSignals.writeFD, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
    }

    /// Ends ``signals`` (after shutdown completed).
    func finish() {
        continuation.finish()
    }
}
