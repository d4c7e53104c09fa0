public import Foundation
import RedisClient
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` on a free loopback port with its own temporary directory, for tests (shared by
/// RedisClientTests and RedisMemoryTests through the test-only `RedisTestSupport` target, which is no product).
/// Readiness is its "Ready to accept connections" log line, not a sleep.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    public let extraArguments: [String]
    /// The `--requirepass` among the arguments, if any (needed to send SHUTDOWN).
    public var password: String? {
        extraArguments.firstIndex(of: "--requirepass").flatMap { extraArguments.indices.contains($0 + 1) ? extraArguments[$0 + 1] : nil }
    }
    private var process: Process?

    public static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") }

    public init(port: Int? = nil, directory: URL? = nil, arguments: [String] = []) throws {
        self.port = try port ?? Self.freePort()
        self.directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        extraArguments = arguments
    }

    /// Starts the server and returns once it accepts connections.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--save", "",
            "--daemonize", "no", "--protected-mode", "no", "--loglevel", "notice",
        ] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let reader = output.fileHandleForReading
        var text = ""
        while !text.contains("Ready to accept connections") {
            let data = reader.availableData
            if data.isEmpty { throw TestFailure("redis-server exited before it was ready: \(text.suffix(500))") }
            text += String(decoding: data, as: UTF8.self)
        }
        // Keep draining its output so it never blocks on a full pipe.
        reader.readabilityHandler = { handle in _ = handle.availableData }
    }

    /// A clean `SHUTDOWN` (AOF flushed) or SIGKILL, then waits for the exit. Not SIGTERM: a child of the test
    /// process inherits its blocked signal mask, and redis-server never sees the SIGTERM.
    public func stop(kill: Bool = false) {
        guard let process, process.isRunning else { return }
        if kill {
            Glibc.kill(process.processIdentifier, SIGKILL)
        } else if let connection = try? RedisConnection.connect(
            to: RedisEndpoint(port: port, password: password), connectTimeout: .seconds(2), commandTimeout: .seconds(5))
        {
            _ = try? connection.send(RedisCommand("SHUTDOWN"), timeout: .seconds(10))
        } else {
            Glibc.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        (process.standardOutput as? Pipe)?.fileHandleForReading.readabilityHandler = nil
        self.process = nil
    }

    deinit {
        stop(kill: true)
        try? FileManager.default.removeItem(at: directory)
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw TestFailure("cannot bind a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A test's own failure, with a message that says what did not happen.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
