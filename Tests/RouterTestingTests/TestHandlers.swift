import Foundation
import RouterCore
import RouterTesting

struct Empty: Codable, Sendable, Equatable {}

/// Runs a closure; stages `load` (weight 1) and `score` (weight 3).
struct ScriptHandler: OperationHandler {
    struct Request: Decodable, Sendable { var n: Int? }
    struct Response: Encodable, Sendable { var done: Bool }
    static let messageType = "script"
    static let eventPrefix = "scr"
    static let timeout: Duration = .seconds(10)
    static let stages = [ProgressStage("load", weight: 1), ProgressStage("score", weight: 3)]

    let script: @Sendable (Request, OperationContext) async throws -> Void

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        try await script(request, context)
        return Response(done: true)
    }
}

/// The original dashboard's operation: `memory_search` with prefix `search`.
struct TestSearchHandler: OperationHandler {
    struct Request: Decodable, Sendable {
        var query: String
        var limit: Int
    }
    struct Hit: Encodable, Sendable {
        var id: String
        var score: Double
        var text: String
    }
    struct Response: Encodable, Sendable { var results: [Hit] }
    static let messageType = "memory_search"
    static let eventPrefix = "search"
    static let timeout: Duration = .seconds(30)
    static let stages = [ProgressStage("tokenize", weight: 1), ProgressStage("score", weight: 8), ProgressStage("rank", weight: 1)]

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        context.progress("tokenize", 1, message: "tokenized \"\(request.query)\"")
        context.progress("score", 0.5)
        context.progress("rank", 1)
        return Response(
            results: (0..<request.limit).map { Hit(id: "m\($0)", score: 1 / Double($0 + 1), text: "\(request.query) \($0)") })
    }
}

/// Waits until cancelled (cooperatively).
struct BlockingHandler: OperationHandler {
    static let messageType = "block"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("wait")]
    func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
        context.progress("wait", 0)
        try await Task.sleep(for: .seconds(3600))
        return Empty()
    }
}

/// Ignores cancellation: waits for a gate, then keeps reporting and returns.
struct StubbornHandler: OperationHandler {
    static let messageType = "stubborn"
    static let timeout: Duration = .seconds(5)
    static let stages = [ProgressStage("first"), ProgressStage("second")]
    let gate: Gate
    let finished: Gate

    func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
        context.progress("first", 0.5)
        await gate.wait()
        context.progress("second", 1)
        try? await context.emit(["late": true])
        finished.open()
        return Empty()
    }
}

/// Returns a result as large as asked.
struct BigHandler: OperationHandler {
    struct Request: Decodable, Sendable { var bytes: Int }
    struct Response: Encodable, Sendable { var blob: String }
    static let messageType = "big"
    static let timeout: Duration = .seconds(5)
    static let stages: [ProgressStage] = []
    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        Response(blob: String(repeating: "memory ", count: request.bytes / 7))
    }
}

/// For the concurrency test: `complete`, `hang` (cooperative) or `stubborn` (ignores cancellation).
struct WorkHandler: OperationHandler {
    struct Request: Decodable, Sendable { var mode: String }
    struct Response: Encodable, Sendable { var ok: Bool }
    static let messageType = "work"
    static let timeout: Duration = .seconds(30)
    static let stages = [ProgressStage("a"), ProgressStage("b"), ProgressStage("c")]
    let gate: Gate
    /// Counts stubborn handlers that went on past the gate and offered their late output.
    var lateOutputs = Countdown()

    func handle(_ request: Request, context: OperationContext) async throws -> Response {
        context.progress("a", 0.5)
        await Task.yield()
        context.progress("b", 0.5)
        switch request.mode {
        case "hang": try await Task.sleep(for: .seconds(3600))
        case "stubborn":
            await gate.wait()
            context.progress("c", 1)
            try? await context.emit(["late": true])
            lateOutputs.count()
        default:
            try await context.emit(["part": 1])
            context.progress("c", 1)
        }
        return Response(ok: true)
    }
}

/// Counts events; a task waits until a number of them happened.
final class Countdown: Sendable {
    private struct State {
        var count = 0
        var waiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Locked(State())

    func count() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            let count = state.count
            let ready = state.waiters.filter { $0.target <= count }.map(\.continuation)
            state.waiters.removeAll { $0.target <= count }
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    /// Returns once `count()` was called `target` times.
    func wait(for target: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let reached = state.withLock { state -> Bool in
                if state.count >= target { return true }
                state.waiters.append((target, continuation))
                return false
            }
            if reached { continuation.resume() }
        }
    }
}

enum GzipTool {
    /// Real gzip (RFC 1952) through `/usr/bin/gzip`.
    static func run(_ arguments: [String], input: [UInt8]) -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        do { try process.run() } catch { return [] }
        // Write from another thread so a large output cannot deadlock the pipe.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(output)
    }

    static let gzip: @Sendable ([UInt8]) -> [UInt8] = { run(["-c", "-n"], input: $0) }
    static func gunzip(_ bytes: [UInt8]) -> [UInt8] { run(["-d", "-c"], input: bytes) }
}

/// Runs `body` while the service's `run()` is running, then stops it.
func withRunningService(_ service: RouterService, _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        // Started on the control executor: a cooperative pool busy with other suites' CPU-bound tests would
        // otherwise delay the service's start, and with it every connection of the test.
        group.addTask(executorPreference: service.settings.controlExecutor) { await service.run() }
        do {
            try await body()
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}
