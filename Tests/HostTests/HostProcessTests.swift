import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `router-host` binary (next to the test bundle) as a child process.
struct HostProcess {
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("router-host")
    }

    let process: Process
    /// Everything the host wrote to stderr so far.
    let log: LogCollector

    /// Runs to completion; returns the exit status and what it printed.
    static func run(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = LogCollector(out.fileHandleForReading)
        let stderr = LogCollector(err.fileHandleForReading)
        await waitForExit(process, timeout: timeout)
        stdout.waitUntilClosed(timeout: 5)
        stderr.waitUntilClosed(timeout: 5)
        return (process.terminationStatus, stdout.text, stderr.text)
    }

    /// Starts the host and waits until it logs the URL it listens on; returns the port.
    /// With `openFileLimit`, the host runs under `ulimit -n` (through /bin/sh, which then execs it).
    static func start(_ arguments: [String], openFileLimit: Int? = nil) async throws -> (HostProcess, port: Int) {
        let process = Process()
        if let openFileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let log = LogCollector(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = log.text
            if let range = text.range(of: #"listening on http://[^ ]*:(\d+)/"#, options: .regularExpression) {
                let port = Int(text[range].split(separator: ":").last!.dropLast())!
                return (HostProcess(process: process, log: log), port)
            }
            if log.isClosed { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.terminate()
        throw HostTestError(description: "router-host did not report its URL: \(log.text)")
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for exit (killing it after `timeout`) and returns the status and the rest of its log.
    func wait(timeout: TimeInterval = 20) async -> (status: Int32, log: String) {
        await Self.waitForExit(process, timeout: .milliseconds(Int64(timeout * 1000)))
        log.waitUntilClosed(timeout: 5)
        return (process.terminationStatus, log.text)
    }

    /// Polls (without blocking a cooperative thread) until `process` exits; kills it after `timeout`.
    private static func waitForExit(_ process: Process, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Reads a pipe to its end on a thread of its own (never on the test's cooperative threads).
final class LogCollector: @unchecked Sendable {
    private let lock = NSCondition()
    private var data = Data()
    private var closed = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                lock.lock()
                if chunk.isEmpty { closed = true } else { data.append(chunk) }
                lock.broadcast()
                lock.unlock()
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    /// Waits (on a thread of its own, not a cooperative one) until the text contains `needle`, the pipe
    /// closes, or `timeout` passes; returns whether it appeared.
    func waitFor(_ needle: String, timeout: TimeInterval = 20) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread { [self] in
                let deadline = Date().addingTimeInterval(timeout)
                lock.lock()
                while !String(decoding: data, as: UTF8.self).contains(needle), !closed, lock.wait(until: deadline) {}
                let found = String(decoding: data, as: UTF8.self).contains(needle)
                lock.unlock()
                continuation.resume(returning: found)
            }.start()
        }
    }

    func waitUntilClosed(timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        while !closed, lock.wait(until: deadline) {}
        lock.unlock()
    }
}

/// A plain TCP connection to the host (no protocol), for descriptor-exhaustion tests.
func openTCP(port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if result != 0 {
        close(fd)
        return nil
    }
    return fd
}

/// GET `path` with a fresh connection; the status code, or nil if no answer came within 5 s.
func httpStatus(port: Int, path: String) -> Int? {
    guard let fd = openTCP(port: port) else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard count > 12 else { return nil }
    return Int(String(decoding: buffer[9..<12], as: UTF8.self))
}

/// GET `path` with a fresh connection; the whole answer (status line, headers, body) once the host closes
/// the connection (or `timeoutSeconds` pass without a byte), or nil if it refused the connection.
func httpGet(port: Int, path: String, timeoutSeconds: Int = 5) -> String? {
    guard let fd = openTCP(port: port) else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        answer += buffer[0..<count]
    }
    return String(decoding: answer, as: UTF8.self)
}

struct HostTestError: Error, CustomStringConvertible {
    let description: String
}

@Suite("router-host as a process", .serialized)
struct HostProcessTests {
    @Test func anUnknownOptionFailsWithOneLineAndExitCode2() async throws {
        let result = try await HostProcess.run(["--prot", "9000"])
        #expect(result.status == 2)
        #expect(result.stderr == "router-host: unknown option '--prot' (did you mean '--port'?)\n")
    }

    @Test func anInvalidConfigIsReportedInFullBeforeListening() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).json")
        try Data(#"{"server": {"port": "x"}, "plugins": [{"name": "serch"}], "heartbeat": {"timeoutMs": 0}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await HostProcess.run(["--config", file.path, "--check-config"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("server.port: expected integer, found string"))
        #expect(result.stderr.contains("heartbeat.timeoutMs: must be > 0"))
        #expect(result.stderr.contains(#"plugins[0].name: unknown plugin "serch""#))
        #expect(!result.stderr.contains("listening"))
    }

    @Test(arguments: ["default.json", "production.example.json", "bench.json", "external-plugin.example.json", "redis-cluster.example.json"])
    func checkConfigAcceptsEachShippedConfig(_ name: String) async throws {
        let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/\(name)")
        let result = try await HostProcess.run(["--config", config.path, "--check-config"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("configuration is valid"))
    }

    @Test func helpDocumentsTheOptions() async throws {
        let result = try await HostProcess.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("--check-config"))
    }

    @Test func outOfDescriptorsTheHostBacksOffAndKeepsServing() async throws {
        let (host, port) = try await HostProcess.start(["--port", "0", "--config", benchConfigPath], openFileLimit: 64)
        defer { host.signal(SIGKILL) }
        // Far more connections than descriptors: accept4 fails with EMFILE while they are open.
        var held: [Int32] = []
        for _ in 0..<150 {
            if let fd = openTCP(port: port) { held.append(fd) }
        }
        let paused = await host.log.waitFor("(errno 24): accepting paused", timeout: 20)
        #expect(paused, "the host never logged running out of descriptors: \(host.log.text)")
        #expect(host.process.isRunning)
        for fd in held { close(fd) }
        // Descriptors freed: after the backoff the host accepts again and answers.
        let resumed = await host.log.waitFor("accepting connections again", timeout: 20)
        #expect(resumed, "the host never logged accepting again: \(host.log.text)")
        var status: Int?
        let deadline = ContinuousClock.now + .seconds(10)
        while status != 200, ContinuousClock.now < deadline {
            status = httpStatus(port: port, path: "/healthz")
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 200)
        host.signal(SIGTERM)
        #expect(await host.wait().status == 0)
    }

    var benchConfigPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/bench.json").path
    }

    @Test func theEmbeddedDefaultServesHealthAndStopsCleanlyOnSIGTERM() async throws {
        let (host, port) = try await HostProcess.start(["--port", "0"])
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains(#""status":"ok""#))
        host.signal(SIGTERM)
        let (status, log) = await host.wait()
        #expect(status == 0)
        #expect(log.contains("stopped"))
    }
}
