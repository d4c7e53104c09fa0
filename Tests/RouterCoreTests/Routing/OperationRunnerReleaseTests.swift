@testable import RouterCore
import Testing

/// A request that ended must leave nothing behind: not its channel, target or cancel signal, nor its
/// handler's task (the target is held by the channel, which the runner and the cancel action hold). (Until stop 11 a finished request's cancel action kept the runner that held that very
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
        /// Finishes when the target is deinitialized.
        let released: AsyncStream<Void>
        private let releasedContinuation: AsyncStream<Void>.Continuation
        init() { (released, releasedContinuation) = AsyncStream<Void>.makeStream() }
        deinit { releasedContinuation.finish() }
        var finalCount: Int { finals.withLock { $0 } }
        func deliver(_ event: OperationEvent) -> Bool {
            if event.isFinal { finals.withLock { $0 += 1 } }
            return true
        }
        func waitUntilWritable() async -> Bool { true }
        func undeclaredStage(_ stage: String, declared: [String]) {}
    }

    /// Runs one request, drops every reference the test holds, then waits for the target's deinit: at once
    /// when nothing else holds it, or a thread that ended the request (the deadline timer's, the cancel's task)
    /// is still returning. Returns false if it is still alive after `limit`, a guard only: a leak never ends.
    private func runAndWaitForRelease(
        _ operation: AnyOperation, data: JSONValue, cancelAtStart: Bool = false, limit: Duration = .seconds(20)
    ) async -> Bool {
        let released: AsyncStream<Void>
        do {
            let target = Target()
            released = target.released
            let cancel = CancelHandle()
            if cancelAtStart { cancel.cancel() }
            let runner = LocalOperationRunner(
                operation: operation, clock: ContinuousClock(), services: ServiceRegistry(), logger: .disabled,
                progressInterval: .milliseconds(100))
            await runner.run(data: data, timeout: nil, requestID: "r1", target: target, cancel: cancel)
            #expect(target.finalCount == 1)
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in released {}
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    @Test func aCompletedRequestReleasesWhatItHeld() async {
        let released = await runAndWaitForRelease(AnyOperation(Echo()), data: ["n": 1])
        #expect(released, "the target (and the channel and runner holding it) outlived the request")
    }

    @Test func aTimedOutRequestReleasesWhatItHeld() async {
        let released = await runAndWaitForRelease(AnyOperation(Stall()), data: [:])
        #expect(released, "the target (and the channel and runner holding it) outlived the request")
    }

    @Test func aCancelledRequestReleasesWhatItHeld() async {
        let released = await runAndWaitForRelease(AnyOperation(Stall()), data: [:], cancelAtStart: true)
        #expect(released, "the target (and the channel and runner holding it) outlived the request")
    }

    /// Records whether its task was already cancelled when it ran (nil: it never ran).
    final class CancellationProbe: Sendable {
        let sawCancellation = Locked<Bool?>(nil)
    }

    struct Probe: OperationHandler {
        struct Request: Decodable, Sendable {}
        struct Response: Encodable, Sendable {}
        static let messageType = "release_probe"
        static let timeout: Duration = .seconds(30)
        static let stages: [ProgressStage] = []
        func handle(_ request: Request, context: OperationContext) async throws -> Response {
            let cancelled = Task.isCancelled
            try context.services.require(CancellationProbe.self).sawCancellation.withLock { $0 = cancelled }
            return Response()
        }
    }

    /// A session keeps a request's run as its canceller from before the run starts: a session that ends (or
    /// a client `cancel`) in between fires it first. The request then ends once, cancelled, and its handler
    /// never runs.
    @Test func aRunFiredBeforeItStartsEndsOnceCancelled() async throws {
        let target = Target()
        let probe = CancellationProbe()
        var services = ServiceRegistry()
        services.register(probe)
        let clock = OperationClock(ContinuousClock())
        let operation = AnyOperation(Probe())
        let startedAt = clock.now()
        let channel = RequestChannel(
            destination: .target(target), stages: [], progressInterval: .milliseconds(100), clock: clock,
            sessionLogger: .disabled, requestID: "r1", messageType: Probe.messageType)
        let run = OperationRunner(
            descriptor: operation.descriptor, channel: channel,
            context: OperationContext(
                sessionID: "s1", requestID: "r1", messageType: Probe.messageType,
                deadline: OperationDeadline(timeout: .seconds(30), endsAt: startedAt + .seconds(30), clock: clock),
                sessionLogger: .disabled, services: services, channel: channel),
            clock: clock, startedAt: startedAt
        ).prepareRun(try operation.prepare(data: [:]))
        run.fire()
        run.fire()
        await run.start().value
        await run.waitUntilDelivered()
        #expect(target.finalCount == 1)
        guard case .failure(let code, _, .cancelled)? = channel.finalEvent else {
            Issue.record("final event: \(String(describing: channel.finalEvent))")
            return
        }
        #expect(code == ErrorCode.cancelled)
        #expect(probe.sawCancellation.withLock { $0 } == nil, "the handler ran")
    }
}
