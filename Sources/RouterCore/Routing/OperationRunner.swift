import Foundation

/// Runs one request: the handler races its deadline and its cancel signal in a task group.
///
/// The first of the three to finish decides the request's single final event, which is delivered
/// *before* the group is left. A handler that ignores cancellation therefore cannot delay the final
/// message or keep its slot (the session frees it when the final event is delivered): the group then
/// waits for the zombie, whose later progress and chunks the channel drops.
struct OperationRunner {
    private enum RunOutcome: Sendable {
        case finished(Result<[String: JSONValue], any Error>)
        case timedOut
        case cancelled
    }

    let descriptor: OperationDescriptor
    let channel: RequestChannel
    let context: OperationContext
    let clock: OperationClock
    let startedAt: Duration
    let cancelSignal: CancelSignal
    /// Where the handler runs (the runner itself stays on its caller's executor).
    var handlerExecutor: any TaskExecutor = RouterExecutors.handlers

    /// Runs to the final event and returns it (whether or not the target still accepted it).
    @discardableResult
    func run(_ operation: PreparedOperation) async -> OperationEvent {
        let deadline = context.deadline.endsAt
        let context = self.context
        let cancelSignal = self.cancelSignal
        let clock = self.clock
        let handlerExecutor = self.handlerExecutor
        return await withTaskGroup(of: RunOutcome?.self) { group in
            group.addTask {
                // The handler runs in a task of its own that the cancel signal cancels synchronously: a
                // CPU-bound handler checking `Task.checkCancellation()` stops at its next check even when
                // every executor thread is busy and the cancel waiter below cannot be scheduled yet.
                // It runs on the handler executor: spinning there, it cannot delay its own deadline below.
                // The handler starts only once the cancel action is registered: a cancel fired from inside its
                // first events (the harness's "cancel after N events") then cancels it synchronously, and its
                // next `emit` or cancellation check stops it. Without this the handler could race ahead.
                let registered = CancelSignal()
                let work = Task(executorPreference: handlerExecutor) {
                    _ = await registered.wait()
                    return try await operation.run(context)
                }
                cancelSignal.onFire { work.cancel() }
                registered.fire()
                do {
                    let fields = try await withTaskCancellationHandler {
                        try await work.value
                    } onCancel: {
                        work.cancel()
                    }
                    return .finished(.success(fields))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                do {
                    try await clock.sleepUntil(deadline)
                    return .timedOut
                } catch {
                    return nil  // cancelled: the request ended otherwise
                }
            }
            group.addTask {
                await cancelSignal.wait() ? .cancelled : nil
            }
            var final: OperationEvent = .failure(code: ErrorCode.cancelled, message: "request cancelled", outcome: .cancelled)
            while let next = await group.next() {
                guard let outcome = next else { continue }
                final = event(for: outcome)
                channel.finish(final)
                break
            }
            group.cancelAll()
            return final
        }
    }

    private func event(for outcome: RunOutcome) -> OperationEvent {
        let type = descriptor.messageType
        switch outcome {
        case .finished(.success(let fields)):
            return .complete(fields: fields, elapsed: clock.now() - startedAt)
        case .finished(.failure(let error)):
            return failureEvent(for: error)
        case .timedOut:
            let limit = Self.milliseconds(context.deadline.timeout)
            let stage = channel.reachedStageDescription.map { "during stage \($0)" } ?? "before reporting progress"
            context.logger.notice("request timed out", metadata: ["timeout.ms": "\(limit)"])
            return .failure(
                code: ErrorCode.timeout(type), message: "\(type) exceeded its \(limit) ms timeout \(stage)",
                outcome: .timedOut)
        case .cancelled:
            return .failure(code: ErrorCode.cancelled, message: "request cancelled", outcome: .cancelled)
        }
    }

    private func failureEvent(for error: any Error) -> OperationEvent {
        let type = descriptor.messageType
        if let clientFacing = error as? any ClientFacingError {
            return .failure(code: clientFacing.code, message: clientFacing.message, outcome: .failed)
        }
        if error is CancellationError {
            // The handler gave up because its request is over (connection gone) or it was cancelled.
            return .failure(code: ErrorCode.cancelled, message: "request cancelled", outcome: .cancelled)
        }
        context.logger.error("handler failed", metadata: ["error": String(reflecting: error)])
        if let localized = error as? any LocalizedError, let description = localized.errorDescription {
            return .failure(code: ErrorCode.failed(type), message: "\(type) failed: \(description)", outcome: .failed)
        }
        if let collision = error as? EnvelopeFieldCollision {
            return .failure(code: ErrorCode.failed(type), message: "\(type) failed: \(collision)", outcome: .failed)
        }
        if error is MissingServiceError {
            // The log above names the type; the client learns only that the server is not set up for it.
            return .failure(
                code: ErrorCode.failed(type), message: "\(type) failed: a service it needs is not available on this server",
                outcome: .failed)
        }
        if error is EncodingError {
            return .failure(
                code: ErrorCode.failed(type), message: "\(type) failed: its result could not be encoded", outcome: .failed)
        }
        return .failure(
            code: ErrorCode.failed(type), message: "\(type) failed with an internal error (request \(context.requestID))",
            outcome: .failed)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// Starts requests outside a session: the code path ``RouterTesting``'s harness uses.
@_spi(RouterTesting)
public struct LocalOperationRunner: Sendable {
    public let operation: AnyOperation
    let clock: OperationClock
    let services: ServiceRegistry
    let logger: Logger
    let progressInterval: Duration

    public init(
        operation: AnyOperation, clock: any Clock<Duration>, services: ServiceRegistry, logger: Logger,
        progressInterval: Duration
    ) {
        self.operation = operation
        self.clock = OperationClock(clock)
        self.services = services
        self.logger = logger
        self.progressInterval = progressInterval
    }

    /// Decodes `data` (failures become a `bad_request` event) and runs the request to its final event.
    /// `timeout` may only shorten the operation's. Fire `cancel` to cancel it.
    public func run(
        data: JSONValue, timeout: Duration?, requestID: String, target: any OperationEventTarget, cancel: CancelHandle
    ) async {
        let prepared: PreparedOperation
        do {
            prepared = try operation.prepare(data: data)
        } catch {
            _ = target.deliver(RequestDecoding.failureEvent(for: error))
            return
        }
        await run(prepared, timeout: timeout, requestID: requestID, target: target, cancel: cancel)
    }

    /// Runs an already-typed request.
    public func run<H: OperationHandler>(
        _ handler: H, request: H.Request, timeout: Duration?, requestID: String, target: any OperationEventTarget,
        cancel: CancelHandle
    ) async {
        await run(AnyOperation.bind(handler, request), timeout: timeout, requestID: requestID, target: target, cancel: cancel)
    }

    func run(
        _ prepared: PreparedOperation, timeout: Duration?, requestID: String, target: any OperationEventTarget,
        cancel: CancelHandle
    ) async {
        let descriptor = operation.descriptor
        let effective = min(descriptor.timeout, timeout ?? descriptor.timeout)
        let startedAt = clock.now()
        var logger = self.logger
        logger[metadataKey: "op.id"] = requestID
        logger[metadataKey: "op.type"] = descriptor.messageType
        let channel = RequestChannel(
            target: target, stages: descriptor.stages, progressInterval: progressInterval, clock: clock, logger: logger)
        let context = OperationContext(
            sessionID: "local", requestID: requestID, messageType: descriptor.messageType,
            deadline: OperationDeadline(timeout: effective, endsAt: startedAt + effective, clock: clock), logger: logger,
            services: services, channel: channel)
        let runner = OperationRunner(
            descriptor: descriptor, channel: channel, context: context, clock: clock, startedAt: startedAt,
            cancelSignal: cancel.signal)
        // As in a live session: the deadline and cancellation on the control executor, the handler on the
        // handler executor, so neither waits for a cooperative pool busy with other work.
        await withTaskExecutorPreference(RouterExecutors.control) {
            _ = await runner.run(prepared)
        }
    }
}

/// Cancels a request started by ``LocalOperationRunner``.
@_spi(RouterTesting)
public struct CancelHandle: Sendable {
    let signal = CancelSignal()
    public init() {}
    public func cancel() { signal.fire() }
}

/// Maps request-decoding failures to the `bad_request` (or client-facing) error.
enum RequestDecoding {
    static func failureEvent(for error: any Error) -> OperationEvent {
        let (code, message) = codeAndMessage(for: error)
        return .failure(code: code, message: message, outcome: .failed)
    }

    static func codeAndMessage(for error: any Error) -> (String, String) {
        switch error {
        case let failure as JSONDecodingFailure: (ErrorCode.badRequest, failure.description)
        case let clientFacing as any ClientFacingError: (clientFacing.code, clientFacing.message)
        default: (ErrorCode.badRequest, "data: invalid request")
        }
    }
}
