@testable import RouterCore
import Testing

/// A request that ended must leave nothing behind: not its channel, target or cancel signal, nor its
/// handler's task. (Until stop 11 a finished request's cancel action kept the runner that held that very
/// signal: a cycle that leaked about 5 KB per request, 500 MB per 100 000 searches.)
@Suite("OperationRunner: an ended request releases what it held")
struct OperationRunnerReleaseTests {
    struct Echo: OperationHandler {
        struct Request: Decodable, Sendable { var n: Int }
        struct Response: Encodable, Sendable { var n: Int }
        static let messageType = "release_echo"
        static let timeout: Duration = .seconds(30)
        static let stages: [ProgressStage] = []
        func handle(_ request: Request, context: OperationContext) async throws -> Response {
            Response(n: request.n)
        }
    }

    struct Stall: OperationHandler {
        struct Request: Decodable, Sendable {}
        struct Response: Encodable, Sendable {}
        static let messageType = "release_stall"
        static let timeout: Duration = .milliseconds(50)
        static let stages: [ProgressStage] = []
        func handle(_ request: Request, context: OperationContext) async throws -> Response {
            try await Task.sleep(for: .seconds(60))  // Stands for work; the timeout or the cancel ends it.
            return Response()
        }
    }

    final class Target: OperationEventTarget {
        private let finals = Locked(0)
        var finalCount: Int { finals.withLock { $0 } }
        func deliver(_ event: OperationEvent) -> Bool {
            if event.isFinal { finals.withLock { $0 += 1 } }
            return true
        }
        func waitUntilWritable() async -> Bool { true }
        func undeclaredStage(_ stage: String, declared: [String]) {}
    }

    private func runAndWatch(
        _ operation: AnyOperation, data: JSONValue, cancelAtStart: Bool = false
    ) async -> (target: Target?, signal: CancelSignal?) {
        weak var weakTarget: Target?
        weak var weakSignal: CancelSignal?
        do {
            let target = Target()
            let cancel = CancelHandle()
            weakTarget = target
            weakSignal = cancel.signal
            if cancelAtStart { cancel.cancel() }
            let runner = LocalOperationRunner(
                operation: operation, clock: ContinuousClock(), services: ServiceRegistry(), logger: .disabled,
                progressInterval: .milliseconds(100))
            await runner.run(data: data, timeout: nil, requestID: "r1", target: target, cancel: cancel)
            #expect(target.finalCount == 1)
        }
        return (weakTarget, weakSignal)
    }

    @Test func aCompletedRequestReleasesItsTargetAndSignal() async {
        let (target, signal) = await runAndWatch(AnyOperation(Echo()), data: ["n": 1])
        #expect(target == nil, "the target (and the channel holding it) outlived the request")
        #expect(signal == nil, "the cancel signal outlived the request")
    }

    @Test func aTimedOutRequestReleasesItsTargetAndSignal() async {
        let (target, signal) = await runAndWatch(AnyOperation(Stall()), data: [:])
        #expect(target == nil, "the target (and the channel holding it) outlived the request")
        #expect(signal == nil, "the cancel signal outlived the request")
    }

    @Test func aCancelledRequestReleasesItsTargetAndSignal() async {
        let (target, signal) = await runAndWatch(AnyOperation(Stall()), data: [:], cancelAtStart: true)
        #expect(target == nil, "the target (and the channel holding it) outlived the request")
        #expect(signal == nil, "the cancel signal outlived the request")
    }
}
