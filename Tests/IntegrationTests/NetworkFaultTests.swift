import Foundation
import RouterClient
import RouterCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real network path for fault tests: `router-host` runs in its own network namespace, joined to
/// the test process (root namespace) by a veth pair; the test drops and restores the link.
///
///     root ns: <veth>a 10.213.N.1/30  ──veth──  <veth>b 10.213.N.2/30 :ns  router-host
///
/// Needs root (CAP_NET_ADMIN), iproute2 (`ip`), python3 (the example external plugin provides a
/// slow operation) and the built `router-host`. When any is missing the test is skipped and the
/// reason printed.
enum NetworkLab {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let hostExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("router-host")

    /// Why the lab cannot run here, or nil.
    static let unavailableReason: String? = {
        let reason = probe()
        if let reason {
            print("⚠︎ NetworkFaultTests skipped: \(reason)")
        }
        return reason
    }()

    static var available: Bool { unavailableReason == nil }

    private static func probe() -> String? {
        if getuid() != 0 { return "needs root for ip netns (running as uid \(getuid()))" }
        guard let ip = ipPath else {
            return "iproute2 (`ip`) is not installed (apt-get install iproute2)"
        }
        guard executable(hostExecutable.path) else { return "router-host is not built at \(hostExecutable.path)" }
        guard ["/usr/bin/python3", "/usr/local/bin/python3"].contains(where: executable) else {
            return "python3 is not installed (the example plugin provides the slow operation)"
        }
        let name = "mrprobe\(getpid() % 100_000)"
        let (status, output) = runSync(ip, ["netns", "add", name])
        if status != 0 { return "network namespaces are not permitted here: ip netns add: \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
        _ = runSync(ip, ["netns", "del", name])
        return nil
    }

    static var ipPath: String? { ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first(where: executable) }

    private static func executable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Runs a short command to completion (only at setup, outside any test's async work).
    @discardableResult
    static func runSync(_ executable: String, _ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `ip …` on a thread of its own; throws on a non-zero exit.
    static func ip(_ arguments: String...) async throws {
        let (status, output) = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: runSync(ipPath ?? "ip", arguments)) }.start()
        }
        if status != 0 { throw LabError(description: "ip \(arguments.joined(separator: " ")): \(output)") }
    }
}

/// `operation`'s value, or nil when it takes longer than `limit` (a guard against hanging, not a
/// synchronisation). The operation is left to finish on its own: it need not support cancellation.
func within<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
    let pending = Locked<CheckedContinuation<T?, Never>?>(nil)
    let take: @Sendable () -> CheckedContinuation<T?, Never>? = {
        pending.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
    }
    return await withCheckedContinuation { continuation in
        pending.withLock { $0 = continuation }
        Task {
            let value = await operation()
            take()?.resume(returning: value)
        }
        Task {
            try? await Task.sleep(for: limit)
            take()?.resume(returning: nil)
        }
    }
}

struct LabError: Error, CustomStringConvertible {
    let description: String
}

/// Reads a pipe to its end on a thread of its own; `wait(for:)` resumes when a line contains a text.
final class LineWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    private var closed = false
    private var waiters: [(String, CheckedContinuation<Bool, Never>)] = []

    init(_ handle: FileHandle) {
        Thread { [self] in
            while true {
                let chunk = handle.availableData
                lock.lock()
                if chunk.isEmpty { closed = true } else { text += String(decoding: chunk, as: UTF8.self) }
                var ready: [(CheckedContinuation<Bool, Never>, Bool)] = []
                waiters.removeAll { needle, continuation in
                    if text.contains(needle) {
                        ready.append((continuation, true))
                        return true
                    }
                    if closed {
                        ready.append((continuation, false))
                        return true
                    }
                    return false
                }
                lock.unlock()
                for (continuation, found) in ready { continuation.resume(returning: found) }
                if chunk.isEmpty { return }
            }
        }.start()
    }

    var contents: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    /// True once `needle` appeared; false if the pipe closed first.
    func wait(for needle: String) async -> Bool {
        await withCheckedContinuation { continuation in
            lock.lock()
            if text.contains(needle) {
                lock.unlock()
                continuation.resume(returning: true)
            } else if closed {
                lock.unlock()
                continuation.resume(returning: false)
            } else {
                waiters.append((needle, continuation))
                lock.unlock()
            }
        }
    }
}

@Suite("Network faults on a real path (veth between network namespaces)", .serialized)
struct NetworkFaultTests {
    /// The link goes down for longer than the heartbeat timeout in the middle of a 4-second
    /// operation: both sides declare the peer dead by heartbeat, the client reconnects when the
    /// link is back, resumes, and the operation completes exactly once.
    @Test(.enabled(if: NetworkLab.available, "needs root, iproute2, python3 and network namespaces"))
    func linkDownLongerThanTheHeartbeatTimeoutIsSurvivedByResume() async throws {
        let tag = getpid() % 100_000
        let namespace = "mrns\(tag)"
        let outside = "mrv\(tag)a"
        let inside = "mrv\(tag)b"
        let subnet = Int(tag % 200) + 20
        let serverAddress = "10.213.\(subnet).2"
        try await NetworkLab.ip("netns", "add", namespace)
        defer {
            NetworkLab.runSync(NetworkLab.ipPath ?? "ip", ["link", "del", outside])
            NetworkLab.runSync(NetworkLab.ipPath ?? "ip", ["netns", "del", namespace])
        }
        try await NetworkLab.ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        try await NetworkLab.ip("link", "set", inside, "netns", namespace)
        try await NetworkLab.ip("addr", "add", "10.213.\(subnet).1/30", "dev", outside)
        try await NetworkLab.ip("link", "set", outside, "up")
        try await NetworkLab.ip("-n", namespace, "addr", "add", "\(serverAddress)/30", "dev", inside)
        try await NetworkLab.ip("-n", namespace, "link", "set", inside, "up")
        try await NetworkLab.ip("-n", namespace, "link", "set", "lo", "up")

        let config = FileManager.default.temporaryDirectory.appendingPathComponent("netfault-\(tag).json")
        let configText = """
            {"server": {"host": "\(serverAddress)", "port": 18765, "closeTimeoutMs": 300},
             "heartbeat": {"intervalMs": 500, "timeoutMs": 500},
             "resume": {"windowMs": 60000},
             "logging": {"level": "debug"},
             "memory": {"loadSamples": false},
             "plugins": [{"name": "text-stats", "command": ["python3", "\(NetworkLab.repository.path)/examples/text_stats_plugin.py"],
                          "messageTypes": ["text_stats"], "env": {"PYTHONUNBUFFERED": "1"}}]}
            """
        try configText.write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }

        let host = Process()
        host.executableURL = URL(fileURLWithPath: NetworkLab.ipPath ?? "ip")
        host.arguments = ["netns", "exec", namespace, NetworkLab.hostExecutable.path, "--config", config.path]
        let errors = Pipe()
        host.standardError = errors
        host.standardOutput = FileHandle.nullDevice
        try host.run()
        let log = LineWatcher(errors.fileHandleForReading)
        defer {
            kill(host.processIdentifier, SIGKILL)
            host.waitUntilExit()
        }
        try #require(await within(.seconds(60)) { await log.wait(for: "listening on") } == true, "router-host did not start: \(log.contents)")
        try #require(await within(.seconds(30)) { await log.wait(for: "ready: text_stats") } == true, "the plugin did not start: \(log.contents)")

        var options = RouterClient.Options()
        options.reconnect = .init(initialDelay: .milliseconds(100), maximumDelay: .milliseconds(400))
        options.connectTimeout = .seconds(2)
        let client = try await RouterClient.connect(url: "ws://\(serverAddress):18765/ws/memory", options: options)
        let paragraphs = 40
        let text = (0..<paragraphs).map { "Paragraph \($0) has a few words. And two sentences." }.joined(separator: "\n\n")
        let (chunkFive, chunkFiveReached) = AsyncStream<Void>.makeStream()
        let run = Task {
            var events: [RouterEvent] = []
            do {
                for try await event in client.request(type: "text_stats", data: ["text": .string(text), "delayMs": 100]) {
                    events.append(event)
                    if event.chunkIndex == 5 || event.message["paragraph"] == 5 { chunkFiveReached.finish() }
                }
                return (events, nil as (any Error)?)
            } catch {
                return (events, error)
            }
        }
        let reachedChunkFive = await within(.seconds(30)) { () async -> Bool in
            for await _ in chunkFive {}
            return true
        }
        try #require(reachedChunkFive == true, "chunk 5 never arrived")
        // The namespace's end goes down: the root side keeps its route (marked linkdown), so packets
        // vanish on the path in both directions: no FIN, no RST, no ICMP.
        try await NetworkLab.ip("-n", namespace, "link", "set", inside, "down")
        // The client notices by its heartbeat (nothing else can tell it: no FIN, no RST) …
        let dead = try await client.waitFor("the client's heartbeat timeout", timeout: .seconds(15)) {
            if case .disconnected(let reason) = $0 { reason.contains("heartbeat") } else { false }
        }
        // … and so does the server: it drops the connection while the link is still down (its log is
        // read through a pipe, not the dead link; nothing but its heartbeat can end that connection).
        let serverNoticed = await within(.seconds(10)) { await log.wait(for: "session detached") } ?? false
        try await NetworkLab.ip("-n", namespace, "link", "set", inside, "up")
        guard let (events, error) = await within(.seconds(60), { await run.value }) else {
            run.cancel()
            Issue.record("the operation did not end within 60 s of the link coming back")
            await client.close()
            return
        }

        #expect(dead.isDisconnected)
        #expect(serverNoticed, "the server did not drop the connection while the link was down: \(log.contents.suffix(2000))")
        #expect(error == nil, "the operation failed: \(String(describing: error))")
        let seqs = events.map(\.seq)
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "seq not strictly increasing: \(seqs)")
        let chunks = events.filter { $0.kind == .chunk }.compactMap { event -> Int? in
            if case .number(let value)? = event.message["paragraph"] { return Int(value) }
            return nil
        }
        #expect(chunks == Array(0..<paragraphs))
        #expect(events.filter { $0.kind == .result }.count == 1)
        #expect(events.last?.kind == .result)
        #expect(events.last?.message["paragraphs"] == .number(Double(paragraphs)))
        #expect(client.statistics.resumes == 1, "\(client.statistics)")
        #expect(client.statistics.heartbeatTimeouts == 1)
        #expect(client.statistics.seqGaps == 0)
        await client.close()
    }
}
