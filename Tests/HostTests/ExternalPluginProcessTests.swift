import Foundation
@testable import RouterHost
import RouterCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// External process plugins with real processes (python3): the example plugin, and a fixture that
/// crashes, hangs, writes garbage or fails its handshake on purpose.
@Suite struct ExternalPluginProcessTests {
    static let threeParagraphs = "Hello there. How are you?\n\nSecond paragraph! Yes.\n\nThird one, extraordinary"

    @Test func pythonExampleAnswersWithProgressChunksAndAResult() async throws {
        let plugin = ExternalPluginProcess(entry: PluginScripts.textStatsEntry(), settings: .fast, logger: .disabled)
        defer { Task { await plugin.stop() } }
        let handshake = await plugin.start()
        guard case .ready(let operations, let missing) = handshake else {
            Issue.record("handshake failed: \(handshake)")
            return
        }
        #expect(missing.isEmpty)
        #expect(operations.map(\.type) == ["text_stats"])

        let operation = try plugin.operation("text_stats")
        #expect(operation.descriptor.eventPrefix == "stats")
        #expect(operation.descriptor.timeout == .seconds(30))
        #expect(operation.descriptor.stages.map(\.name) == ["reading", "counting", "summarizing"])
        #expect(operation.descriptor.pluginName == "text-stats")

        let events = await run(operation, ["text": .string(Self.threeParagraphs)])
        #expect(events.compactMap(\.chunkFields) == [
            ["paragraph": 0, "words": 5, "sentences": 2],
            ["paragraph": 1, "words": 3, "sentences": 2],
            ["paragraph": 2, "words": 3, "sentences": 1],
        ])
        let stages = events.compactMap(\.progressStage)
        #expect(stages.first == "reading")
        #expect(stages.contains("counting"))
        #expect(stages.last == "summarizing")
        let result = try #require(events.last?.completeFields)
        #expect(result["paragraphs"] == 3)
        #expect(result["words"] == 11)
        #expect(result["sentences"] == 5)
        #expect(result["longestWord"] == "extraordinary")

        // A plugin error with a code is passed through.
        let bad = await run(operation, ["text": 42])
        #expect(bad.last?.failure?.code == "bad_request")
        #expect(bad.last?.failure?.message == "data.text: expected a string")
    }

    @Test func configuredTimeoutOverridesTheDescribedOne() async throws {
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.textStatsEntry(timeoutMs: 1500), settings: .fast, logger: .disabled)
        defer { Task { await plugin.stop() } }
        _ = await plugin.start()
        let descriptor = try plugin.operation("text_stats").descriptor
        #expect(descriptor.timeout == .milliseconds(1500))
        #expect(descriptor.declaredTimeout == .seconds(30))
    }

    @Test func crashMidRequestFailsItWhileOtherOperationsCompleteAndThePluginRestarts() async throws {
        let logs = CapturingLogHandler()
        let crashy = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("crash", name: "crashy"), settings: .fast, logger: .capturing(logs))
        let stats = ExternalPluginProcess(entry: PluginScripts.textStatsEntry(), settings: .fast, logger: .disabled)
        defer { Task { await crashy.stop(); await stats.stop() } }
        async let crashyReady = crashy.start()
        async let statsReady = stats.start()
        _ = await (crashyReady, statsReady)
        let firstPID = try #require(crashy.status.pid)

        // An in-process operation, standing in for a built-in plugin.
        let builtIn = AnyOperation(descriptor: OperationDescriptor(messageType: "builtin", timeout: .seconds(5), stages: [])) { _, _ in
            try await Task.sleep(for: .milliseconds(400))
            return ["ok": true]
        }
        let crashOperation = try crashy.operation("crash_op")
        let statsOperation = try stats.operation("text_stats")
        async let crashed = run(crashOperation, ["crash": true])
        async let counted = run(statsOperation, ["text": .string(Self.threeParagraphs), "delayMs": 100])
        async let inProcess = run(builtIn, [:])
        let (crashEvents, statsEvents, builtInEvents) = await (crashed, counted, inProcess)

        let failure = try #require(crashEvents.last?.failure)
        #expect(failure.code == "crash_op_error")
        #expect(failure.message == "plugin process crashy exited with status 3")
        #expect(statsEvents.last?.completeFields?["words"] == 11)
        #expect(builtInEvents.last?.completeFields == ["ok": true])
        #expect(logs.messages.contains { $0.contains("stderr: crash: exiting with status 3") }, "stderr goes to the log")

        // The next request waits for the restart (backoff 100 ms) and is served by a new process.
        let next = await run(crashOperation, ["crash": false])
        let pid = try #require(next.last?.completeFields?["pid"])
        #expect(pid != .number(Double(firstPID)))
        #expect(crashy.status.launches == 2)
        #expect(crashy.status.phase == .ready)
    }

    @Test func hangPastItsTimeoutTimesOutThenTheProcessIsKilledAndRestarted() async throws {
        let logs = CapturingLogHandler()
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("hang", timeoutMs: 10000), settings: .fast, logger: .capturing(logs))
        defer { Task { await plugin.stop() } }
        _ = await plugin.start()
        let firstPID = try #require(plugin.status.pid)
        let operation = try plugin.operation("hang_op")
        #expect(operation.descriptor.timeout == .milliseconds(10000))

        let started = ContinuousClock.now
        let events = await run(operation, ["hang": true])
        #expect(ContinuousClock.now - started < .seconds(20), "the router's timeout ends the request, not the plugin")
        let failure = try #require(events.last?.failure)
        #expect(failure.code == "hang_op_timeout")

        // It ignored the cancel: killed after the grace period (800 ms), then restarted.
        #expect(await plugin.waitForStatus { $0.launches == 2 && $0.phase == .ready })
        #expect(plugin.status.pid != firstPID)
        #expect(kill(firstPID, 0) == -1, "the hung process is gone")
        // The failure and the log name the client's request id and why the host killed the process.
        #expect(
            plugin.status.lastFailure
                == #"plugin process hang was killed by signal 9 (by the host: it did not finish cancelled request "t" (hang_op, plugin id r1) within 800 ms of its cancel)"#)
        #expect(logs.messages(at: .warning).contains { $0.contains(#"did not finish cancelled request "t" (hang_op, plugin id r1)"#) })

        let next = await run(operation, ["hang": false])
        #expect(next.last?.completeFields?["echo"] == ["hang": false], "\(next)")
    }

    @Test func cancelIsForwardedAndAPluginThatHonoursItIsNotKilled() async throws {
        let plugin = ExternalPluginProcess(entry: PluginScripts.textStatsEntry(), settings: .fast, logger: .disabled)
        defer { Task { await plugin.stop() } }
        _ = await plugin.start()
        let pid = plugin.status.pid
        let operation = try plugin.operation("text_stats")
        let recorder = EventRecorder()
        let cancel = CancelHandle()
        async let events = run(
            operation, ["text": .string(Self.threeParagraphs), "delayMs": 2000], recorder: recorder, cancel: cancel)
        #expect(await recorder.waitFor { $0.progressStage == "reading" })
        cancel.cancel()
        let final = await events
        #expect(final.last?.failure?.code == "cancelled")
        #expect(final.compactMap(\.chunkFields).isEmpty)
        // Had the cancel not reached the plugin, it would still be working when the grace period ends: the
        // check at its end finds the request finished (and kills nothing).
        #expect(await plugin.waitForStatus { $0.cancelsHonoured == 1 })
        #expect(plugin.status.launches == 1)
        #expect(plugin.status.pid == pid)
        let next = await run(operation, ["text": "One."])
        #expect(next.last?.completeFields?["sentences"] == 1)
    }

    @Test func malformedLinesAreLoggedAndIgnored() async throws {
        let logs = CapturingLogHandler()
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("malformed"), settings: .fast, logger: .capturing(logs))
        defer { Task { await plugin.stop() } }
        let handshake = await plugin.start()
        #expect(handshake == .ready(
            operations: [.init(type: "malformed_op", timeoutMs: 20000, stages: [ProgressStage("working")])], missing: []))
        let events = await run(try plugin.operation("malformed_op"), ["x": 1])
        #expect(events.compactMap(\.chunkFields) == [["part": 1]])
        #expect(events.last?.completeFields?["echo"] == ["x": 1])
        let ignored = logs.messages(at: .warning).filter { $0.hasPrefix("ignoring malformed line") }
        // 1 before describe, 7 during the request (an empty line and the unknown id are not malformed).
        #expect(ignored.count == 8, "\(ignored)")
        #expect(ignored.contains { $0.contains("unknown message type \"teleport\"") })
        #expect(logs.messages(at: .debug).contains("ignoring a message for unknown request id \"nobody\""))
        #expect(plugin.status.launches == 1)
    }

    @Test func aProcessThatExitsBeforeDescribingIsReportedAndItsOperationsAnswerWithTheReason() async throws {
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("exit_early", name: "quitter", restart: false), settings: .fast, logger: .disabled)
        let handshake = await plugin.start()
        let reason = "plugin process quitter exited with status 1 before answering describe"
        #expect(handshake == .failed(reason: reason))
        #expect(plugin.status.phase == .failed)
        let operation = try plugin.operation("exit_early_op")
        #expect(operation.descriptor.timeout == .seconds(60), "the default timeout when nothing was described")
        let events = await run(operation, [:])
        #expect(events.last?.failure?.code == "exit_early_op_error")
        #expect(events.last?.failure?.message == "plugin quitter is unavailable: \(reason)")
        await plugin.stop()
    }

    @Test func anInvalidDescribeAnswerIsNamedInTheHandshakeFailure() async throws {
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("bad_describe", restart: false), settings: .fast, logger: .disabled)
        let handshake = await plugin.start()
        let reason = "plugin process bad_describe exited with status 2 before answering describe"
            + " (ignored: describe.operations[0].type: missing or not a non-empty string)"
        #expect(handshake == .failed(reason: reason))
        let events = await run(try plugin.operation("bad_describe_op"), [:])
        #expect(events.last?.failure?.message == "plugin bad_describe is unavailable: \(reason)")
    }

    @Test func aPluginThatNeverAnswersDescribeIsKilledAfterTheHandshakeTimeout() async throws {
        var settings = ExternalPluginProcess.Settings.fast
        settings.describeTimeout = .milliseconds(800)
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("silent", restart: false), settings: settings, logger: .disabled)
        let handshake = await plugin.start()
        #expect(handshake == .failed(reason: "no valid describe answer within 800 ms"))
        #expect(plugin.status.phase == .failed)
        let events = await run(try plugin.operation("silent_op"), [:])
        #expect(events.last?.failure?.code == "silent_op_error")
        #expect(events.last?.failure?.message == "plugin silent is unavailable: no valid describe answer within 800 ms")
    }

    @Test func aCommandThatDoesNotExistIsReported() async throws {
        let entry = ExternalPluginEntry(
            name: "ghost", command: ["no-such-plugin-binary-xyz"], messageTypes: ["ghost_op"], restart: false)
        let plugin = ExternalPluginProcess(entry: entry, settings: .fast, logger: .disabled)
        let handshake = await plugin.start()
        #expect(handshake == .failed(reason: "could not start its command: \"no-such-plugin-binary-xyz\" was not found on PATH"))
        let events = await run(try plugin.operation("ghost_op"), [:])
        #expect(
            events.last?.failure?.message
                == "plugin ghost is unavailable: could not start its command: \"no-such-plugin-binary-xyz\" was not found on PATH")
    }

    @Test func aConfiguredTypeMissingFromDescribeAnswersWithAnErrorWhileTheOthersWork() async throws {
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("partial", extraTypes: ["missing_op"]), settings: .fast, logger: .disabled)
        defer { Task { await plugin.stop() } }
        let handshake = await plugin.start()
        guard case .ready(_, let missing) = handshake else {
            Issue.record("handshake failed: \(handshake)")
            return
        }
        #expect(missing == ["missing_op"])
        let missingEvents = await run(try plugin.operation("missing_op"), [:])
        #expect(missingEvents.last?.failure?.code == "missing_op_error")
        #expect(
            missingEvents.last?.failure?.message
                == "plugin partial is unavailable: its describe answer does not list \"missing_op\" (it lists: \"partial_op\")")
        let served = await run(try plugin.operation("partial_op"), ["y": 2])
        #expect(served.last?.completeFields?["echo"] == ["y": 2])
    }

    @Test func restartsBackOffExponentially() async throws {
        var settings = ExternalPluginProcess.Settings.fast
        settings.initialBackoff = .milliseconds(50)
        let logs = CapturingLogHandler()
        let plugin = ExternalPluginProcess(
            entry: PluginScripts.fixtureEntry("exit_early"), settings: settings, logger: .capturing(logs))
        _ = await plugin.start()
        // Each exit logs the delay of the restart it schedules.
        let scheduledRestarts = {
            logs.messages(at: .error).compactMap { message -> String? in
                guard let range = message.range(of: "; restarting in ") else { return nil }
                return String(message[range.upperBound...])
            }
        }
        #expect(await logs.waitFor { scheduledRestarts().count >= 4 })
        await plugin.stop()
        let launches = plugin.status.launches
        let scheduled = scheduledRestarts()
        let doubling = (0..<scheduled.count).map { ExternalPluginProcess.describe(.milliseconds(50 << $0)) }
        #expect(scheduled == doubling, "each delay doubles")
        #expect(scheduled.count >= 4)
        #expect(plugin.status.phase == .stopped)
        if scheduled.count == launches {
            // The last restart was still backing off at the stop (its 400 ms or more): when its backoff ends it
            // launches nothing. (Otherwise it had launched already, and the stop ended that process.)
            #expect(await plugin.waitForStatus { $0.restartsAbandoned == 1 })
        }
        #expect(plugin.status.launches == launches, "no restarts after stop")
    }

    @Test func theRegistryRegistersExternalOperationsAndStopsTheProcesses() async throws {
        let entries: [PluginEntry] = [
            .builtIn(BuiltInPluginEntry(name: "search")),
            .external(PluginScripts.textStatsEntry(timeoutMs: 4000)),
            .external(PluginScripts.fixtureEntry("partial")),
        ]
        let registry = await ExternalPluginRegistry.start(entries, settings: .fast, logger: .disabled)
        #expect(registry.processes.map(\.name) == ["text-stats", "partial"])
        let builder = RouterBuilder()
        try registry.register(into: builder)
        let router = builder.build()
        let operations = Dictionary(uniqueKeysWithValues: router.operations.map { ($0.messageType, $0) })
        #expect(operations.keys.sorted() == ["partial_op", "text_stats"])
        #expect(operations["text_stats"]?.eventPrefix == "stats")
        #expect(operations["text_stats"]?.timeout == .milliseconds(4000))
        #expect(operations["partial_op"]?.pluginName == "partial")
        let events = await run(try #require(router.operation(for: "text_stats")), ["text": "A b."])
        #expect(events.last?.completeFields?["words"] == 2)

        let pids = registry.processes.compactMap(\.status.pid)
        #expect(pids.count == 2)
        await registry.stop()
        for pid in pids { #expect(kill(pid, 0) == -1, "process \(pid) exited at stop") }
        #expect(registry.processes.allSatisfy { $0.status.phase == .stopped })
        let afterStop = await run(try #require(router.operation(for: "text_stats")), ["text": "A b."])
        #expect(afterStop.last?.failure?.message == "plugin text-stats is unavailable: the host is shutting down")
    }
}

// MARK: - Test support

/// Paths of the example plugin and the misbehaving test fixture.
enum PluginScripts {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let textStats = root.appendingPathComponent("examples/text_stats_plugin.py").path
    static let misbehaving = root.appendingPathComponent("examples/test-fixtures/misbehaving_plugin.py").path

    static func textStatsEntry(name: String = "text-stats", timeoutMs: Int? = nil) -> ExternalPluginEntry {
        ExternalPluginEntry(
            name: name, command: ["python3", textStats], messageTypes: ["text_stats"], timeoutMs: timeoutMs)
    }

    /// `misbehaving_plugin.py MODE`, serving `MODE_op` (plus `extraTypes`).
    static func fixtureEntry(
        _ mode: String, name: String? = nil, extraTypes: [String] = [], timeoutMs: Int? = nil, restart: Bool = true
    ) -> ExternalPluginEntry {
        ExternalPluginEntry(
            name: name ?? mode, command: ["/usr/bin/env", "python3", misbehaving, mode],
            messageTypes: ["\(mode)_op"] + extraTypes, timeoutMs: timeoutMs, restart: restart)
    }
}

/// Settings that keep the suite fast: a short cancel grace period and backoff. (The describe
/// timeout stays 5 s: python3 can take seconds to start on a loaded machine.)
extension ExternalPluginProcess.Settings {
    static var fast: Self {
        var settings = Self()
        settings.cancelGrace = .milliseconds(800)
        settings.initialBackoff = .milliseconds(100)
        settings.shutdownGrace = .seconds(1)
        return settings
    }
}

/// Records one request's events.
final class EventRecorder: OperationEventTarget {
    private let state = Locked<[OperationEvent]>([])
    private let changes = ChangeSignal()

    var events: [OperationEvent] { state.withLock { $0 } }

    func deliver(_ event: OperationEvent) -> Bool {
        let accepted = state.withLock { events in
            if events.last.map(Self.isFinal) == true { return false }
            events.append(event)
            return true
        }
        if accepted { changes.changed() }
        return accepted
    }

    func waitUntilWritable() async -> Bool { true }

    /// Waits (up to `timeout`) until an event satisfies `condition`.
    func waitFor(timeout: Duration = .seconds(10), _ condition: @escaping (OperationEvent) -> Bool) async -> Bool {
        await changes.wait(timeout: timeout) { events.contains(where: condition) }
    }

    static func isFinal(_ event: OperationEvent) -> Bool {
        switch event {
        case .complete, .failure: true
        case .progress, .chunk: false
        }
    }
}

/// Collects log records (to assert that something was logged).
final class CapturingLogHandler: LogHandler {
    private let records = Locked<[LogRecord]>([])
    private let changes = ChangeSignal()

    func log(_ record: LogRecord) {
        records.withLock { $0.append(record) }
        changes.changed()
    }

    /// Waits until `condition` holds, checking it again after each record (or `timeout` passes).
    func waitFor(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
        await changes.wait(timeout: timeout, until: condition)
    }

    var messages: [String] { records.withLock { $0.map(\.message) } }

    func messages(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level == level }.map(\.message) }
    }
}

extension Logger {
    static func capturing(_ handler: CapturingLogHandler) -> Logger {
        Logger(label: "test", level: .trace, handler: handler)
    }
}

/// Runs `operation` on `data` through the router's own runner; returns its events.
func run(
    _ operation: AnyOperation, _ data: JSONValue, timeout: Duration? = nil, requestID: String = "t",
    recorder: EventRecorder = EventRecorder(), cancel: CancelHandle = CancelHandle()
) async -> [OperationEvent] {
    let runner = LocalOperationRunner(
        operation: operation, clock: ContinuousClock(), services: ServiceRegistry(), logger: .disabled,
        progressInterval: .zero)
    await runner.run(data: data, timeout: timeout, requestID: requestID, target: recorder, cancel: cancel)
    return recorder.events
}

extension ExternalPluginProcess {
    /// The operation for `type` (it must be configured).
    func operation(_ type: String) throws -> AnyOperation {
        try #require(operations().first { $0.descriptor.messageType == type })
    }

    /// Waits until `condition` holds for the status (or `timeout` passes).
    func waitForStatus(timeout: Duration = .seconds(10), _ condition: (Status) -> Bool) async -> Bool {
        await statusChanges.wait(timeout: timeout) { condition(status) }
    }
}

extension OperationEvent {
    var failure: (code: String, message: String)? {
        if case .failure(let code, let message, _) = self { return (code, message) }
        return nil
    }

    var completeFields: [String: JSONValue]? {
        if case .complete(let fields, _) = self { return fields.values }
        return nil
    }

    var chunkFields: [String: JSONValue]? {
        if case .chunk(_, let fields) = self { return fields.values }
        return nil
    }

    var progressStage: String? {
        if case .progress(let stage, _, _, _, _) = self { return stage }
        return nil
    }
}
