import Foundation
import Glibc
import Testing

@testable import MemoryStore
@testable import StoreCrashWriter

@Suite("Crash recovery")
struct CrashRecoveryTests {
    /// The `StoreCrashWriter` executable: next to the test bundle, or in `.build/debug`.
    /// Everything readable now from `fd` (non-blocking), without waiting for end of file.
    static func drain(_ fd: Int32) -> Data {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }

    static func crashWriterURL() throws -> URL {
        var candidates: [URL] = []
        let argumentZero = URL(fileURLWithPath: CommandLine.arguments[0])
        candidates.append(argumentZero.deletingLastPathComponent().appendingPathComponent("StoreCrashWriter"))
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("StoreCrashWriter"))
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/StoreCrashWriter"))
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) })
    }

    /// Proves torn-tail recovery and acknowledgement order, not durability (a killed process leaves its writes in
    /// the page cache): `PowerCutTests` proves fsync. The time limit only guards against a hang: the full suite
    /// on the shared 2-core machine took it past one minute.
    @Test(.timeLimit(.minutes(3)))
    func everyAcknowledgedWriteSurvivesSIGKILL() async throws {
        let executable = try Self.crashWriterURL()
        try await withTemporaryDirectory { directory in
            var acknowledged: [String] = []
            var truncations = 0
            var random = SystemRandomNumberGenerator()
            let started = ContinuousClock.now
            for round in 0..<20 {
                let process = Process()
                process.executableURL = executable
                process.arguments = [directory]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                // The child needs ~0.2 s (debug build) to load and replay the log; the random 20–200 ms run
                // starts at its first acknowledged write, so every kill lands while it is writing.
                // Blocking reads and waits go to a thread of their own (see `onOwnThread`).
                let reader = output.fileHandleForReading
                var data = try await onOwnThread { reader.availableData }
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...200, using: &random)))
                kill(process.processIdentifier, SIGKILL)
                data += try await onOwnThread {
                    process.waitUntilExit()
                    // Not readDataToEndOfFile: a child another test spawns meanwhile may have inherited the
                    // pipe's write end, and EOF would wait for that child. The writer is dead: read what it left.
                    return Self.drain(reader.fileDescriptor)
                }
                #expect(process.terminationReason == .uncaughtSignal, "round \(round): the writer exited by itself")

                // Only complete lines: a line is printed after its upsert returned.
                let text = String(decoding: data, as: UTF8.self)
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                lines.removeLast()  // the part after the last newline (empty unless cut mid-line)
                acknowledged += lines.map(String.init)

                let (store, report) = try MemoryStore.open(directory: directory, dimension: 8)
                if !report.isClean { truncations += 1 }
                let damaged = acknowledged.filter { store.get(id: $0) != StoreCrashWriter.entry(id: $0) }
                #expect(damaged.isEmpty, "round \(round): acknowledged writes lost or damaged: \(damaged.prefix(5))")
                #expect(store.count >= acknowledged.count)
                try store.close()
            }
            #expect(acknowledged.count > 0)
            #expect(Set(acknowledged).count == acknowledged.count)
            print("crash test: \(acknowledged.count) acknowledged writes over 20 kills, \(truncations) torn tails repaired, \(started.duration(to: .now))")
        }
    }
}
