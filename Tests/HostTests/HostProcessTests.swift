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
    let stderr: Pipe

    /// Runs to completion; returns the exit status and what it printed.
    static func run(_ arguments: [String], timeout: Duration = .seconds(20)) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// Starts the host and waits until it logs the URL it listens on; returns the port.
    static func start(_ arguments: [String]) throws -> (HostProcess, port: Int) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let data = err.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression) {
                let port = Int(text[range].split(separator: ":").last!.dropLast())!
                return (HostProcess(process: process, stderr: err), port)
            }
        }
        process.terminate()
        throw HostTestError(description: "router-host did not report its URL: \(text)")
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for exit (killing it after `timeout`) and returns the status and the rest of its log.
    func wait(timeout: TimeInterval = 20) -> (status: Int32, log: String) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { process.interrupt(); kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let rest = stderr.fileHandleForReading.readDataToEndOfFile()
        return (process.terminationStatus, String(decoding: rest, as: UTF8.self))
    }
}

struct HostTestError: Error, CustomStringConvertible {
    let description: String
}

@Suite("router-host as a process", .serialized)
struct HostProcessTests {
    @Test func anUnknownOptionFailsWithOneLineAndExitCode2() throws {
        let result = try HostProcess.run(["--prot", "9000"])
        #expect(result.status == 2)
        #expect(result.stderr == "router-host: unknown option '--prot' (did you mean '--port'?)\n")
    }

    @Test func anInvalidConfigIsReportedInFullBeforeListening() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).json")
        try Data(#"{"server": {"port": "x"}, "plugins": [{"name": "serch"}], "heartbeat": {"timeoutMs": 0}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try HostProcess.run(["--config", file.path, "--check-config"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("server.port: expected integer, found string"))
        #expect(result.stderr.contains("heartbeat.timeoutMs: must be > 0"))
        #expect(result.stderr.contains(#"plugins[0].name: unknown plugin "serch""#))
        #expect(!result.stderr.contains("listening"))
    }

    @Test func checkConfigAcceptsTheExampleConfig() throws {
        let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/default.json")
        let result = try HostProcess.run(["--config", config.path, "--check-config"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("configuration is valid"))
    }

    @Test func helpDocumentsTheOptions() throws {
        let result = try HostProcess.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("--check-config"))
    }

    @Test func theEmbeddedDefaultServesHealthAndStopsCleanlyOnSIGTERM() async throws {
        let (host, port) = try HostProcess.start(["--port", "0"])
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains(#""status":"ok""#))
        host.signal(SIGTERM)
        let (status, log) = host.wait()
        #expect(status == 0)
        #expect(log.contains("stopped"))
    }
}
