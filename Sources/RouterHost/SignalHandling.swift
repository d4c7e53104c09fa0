import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into an async sequence of signal numbers (DispatchSource based).
/// The default actions are disabled while it lives, so the first signal starts a graceful shutdown
/// and a second one can be handled as "exit now".
final class TerminationSignals: @unchecked Sendable {  // sources are only touched in init and deinit
    private let sources: [any DispatchSourceSignal]
    private let continuation: AsyncStream<Int32>.Continuation
    /// The signals as they arrive.
    let signals: AsyncStream<Int32>

    init(_ numbers: [Int32] = [SIGINT, SIGTERM]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        signals = stream
        var sources: [any DispatchSourceSignal] = []
        for number in numbers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
        self.continuation = continuation
    }

    /// Ends ``signals`` (after shutdown completed).
    func finish() {
        continuation.finish()
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
