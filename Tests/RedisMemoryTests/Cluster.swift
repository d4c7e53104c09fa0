import Foundation
import RedisTestSupport
import RouterClient
import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// A child process whose stderr (or stdout) is collected on a thread of its own; tests wait for a log line.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let condition = NSCondition()
    private var output = ""
    private var closed = false

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                condition.lock()
                if data.isEmpty { closed = true } else { output += String(decoding: data, as: UTF8.self) }
                condition.broadcast()
                condition.unlock()
                if data.isEmpty { return }
            }
        }
        thread.start()
    }

    var log: String {
        condition.lock()
        defer { condition.unlock() }
        return output
    }

    /// Waits until the log matches `pattern` (a regular expression) at least `count` times; the first match.
    @discardableResult
    func waitForLog(_ pattern: String, count: Int = 1, timeout: TimeInterval = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let regex = try NSRegularExpression(pattern: pattern)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let matches = regex.matches(in: output, range: NSRange(output.startIndex..., in: output))
            if matches.count >= count, let range = Range(matches[0].range, in: output) { return String(output[range]) }
            if closed || !condition.wait(until: deadline) {
                throw TestFailure("no log line matching \(pattern) (×\(count)) within \(timeout) s; log:\n\(output.suffix(3000))")
            }
        }
    }

    func signal(_ number: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    /// Waits (blocking this thread) until the process exits; its exit status.
    func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { kill9() }
}

/// Three (or more) `router-host`s sharing one Redis stream, behind HAProxy started from `deploy/haproxy.cfg`
/// as shipped (its addresses come from the environment).
final class Cluster: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var routerHost: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("router-host").path
    }
    static var available: Bool {
        RedisServerProcess.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    }

    let redis: RedisServerProcess
    let directory: URL
    var hosts: [ChildProcess?] = []
    var hostPorts: [Int] = []
    var haproxy: ChildProcess?
    var haproxyPort = 0

    init() throws {
        redis = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        try redis.start()
        directory = redis.directory.appendingPathComponent("cluster")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// The test fixture whose `hold` operation sends one chunk, then runs until cancelled, or with
    /// `data.release` (a FIFO) until the test writes a line to it: an operation that is surely in flight.
    static let holdPlugin = repository.appendingPathComponent("examples/test-fixtures/held_plugin.py").path

    func configuration(port: Int) -> String {
        """
        {"server": {"host": "127.0.0.1", "port": \(port)},
         "logging": {"level": "info"},
         "shutdown": {"graceMs": 120000},
         "memory": {"backend": "redis", "redis": {"url": "redis://127.0.0.1:\(redis.port)/0", "stream": "memories",
            "connectTimeoutMs": 300, "commandTimeoutMs": 2000, "snapshotIntervalMs": 300, "snapshotMinEntries": 50}},
         "plugins": [{"name": "search"},
                     {"name": "hold", "command": ["python3", "\(Self.holdPlugin)"], "messageTypes": ["hold"]}]}
        """
    }

    /// Starts host number `index` (0-based) on a free port and waits until it listens.
    @discardableResult
    func startHost(_ index: Int) throws -> ChildProcess {
        let port = index < hostPorts.count ? hostPorts[index] : try RedisServerProcess.freePort()
        let file = directory.appendingPathComponent("host\(index).json")
        try configuration(port: port).write(to: file, atomically: true, encoding: .utf8)
        let host = try ChildProcess(Self.routerHost, ["--config", file.path])
        try host.waitForLog("listening on http://127\\.0\\.0\\.1:\(port)/")
        while hosts.count <= index {
            hosts.append(nil)
            hostPorts.append(0)
        }
        hosts[index] = host
        hostPorts[index] = port
        return host
    }

    /// Starts HAProxy with `deploy/haproxy.cfg` over hosts 0–2 and waits until it accepts connections.
    func startHAProxy() throws {
        haproxyPort = try RedisServerProcess.freePort()
        let environment = [
            "MR_BIND": "127.0.0.1:\(haproxyPort)", "MR_HOST1": "127.0.0.1:\(hostPorts[0])",
            "MR_HOST2": "127.0.0.1:\(hostPorts[1])", "MR_HOST3": "127.0.0.1:\(hostPorts[2])",
        ]
        let config = Self.repository.appendingPathComponent("deploy/haproxy.cfg").path
        // The shipped file as it is, plus a second file that only adds the admin socket the tests read.
        let statsConfig = directory.appendingPathComponent("haproxy-stats.cfg")
        try "global\n    stats socket \(statsSocket) mode 600 level admin\n".write(to: statsConfig, atomically: true, encoding: .utf8)
        haproxy = try ChildProcess("/usr/sbin/haproxy", ["-db", "-f", config, "-f", statsConfig.path], environment: environment)
        // HAProxy logs nothing when ready: its listening socket is the signal.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let answer = try? Self.httpGet(port: haproxyPort, path: "/healthz"), answer.hasPrefix("HTTP/1.1 200") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("HAProxy did not accept connections: \(haproxy?.log ?? "")")
    }

    /// HAProxy's admin socket (a second config file adds it to `deploy/haproxy.cfg`).
    var statsSocket: String { directory.appendingPathComponent("haproxy.sock").path }

    /// One command on HAProxy's admin socket (e.g. `show stat`); its whole answer.
    func haproxyCommand(_ command: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(statsSocket.utf8CString)
        guard path.count <= MemoryLayout.size(ofValue: address.sun_path) else { throw TestFailure("socket path too long: \(statsSocket)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            path.withUnsafeBytes { raw.copyMemory(from: $0) }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
        guard connected else { throw TestFailure("cannot connect to HAProxy's admin socket \(statsSocket)") }
        return Self.exchange(fd, request: command + "\n")
    }

    /// `show stat` for one server of the `router_hosts` backend, as column name → value.
    func serverStat(_ server: String) throws -> [String: String] {
        let lines = try haproxyCommand("show stat").split(separator: "\n")
        guard let header = lines.first, header.hasPrefix("# ") else { throw TestFailure("unexpected `show stat` answer: \(lines)") }
        let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for line in lines.dropFirst() {
            let values = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if values.count >= 2, values[0] == "router_hosts", values[1] == server {
                return Dictionary(zip(names, values), uniquingKeysWith: { first, _ in first })
            }
        }
        throw TestFailure("no server router_hosts/\(server) in `show stat`")
    }

    /// A plain HTTP GET; the whole answer (status line, headers, body).
    static func httpGet(port: Int, path: String, cookie: String? = nil) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw TestFailure("cannot connect to port \(port)") }
        let cookieLine = cookie.map { "Cookie: \($0)\r\n" } ?? ""
        return Self.exchange(fd, request: "GET \(path) HTTP/1.1\r\nHost: test\r\n\(cookieLine)Connection: close\r\n\r\n")
    }

    /// Sends `request` on the connected socket `fd` and returns everything it answers until it closes.
    private static func exchange(_ fd: Int32, request: String) -> String {
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    func url(host index: Int) -> String { "ws://127.0.0.1:\(hostPorts[index])/ws/memory" }
    var balancedURL: String { "ws://127.0.0.1:\(haproxyPort)/ws/memory" }

    func stop() {
        haproxy?.kill9()
        try? FileManager.default.removeItem(atPath: statsSocket)
        for host in hosts { host?.kill9() }
        redis.stop(kill: true)
    }
}

extension RouterClient {
    /// `memory_index` of entries `(id, text)`; returns the `index_complete` event's fields or throws the error.
    func index(_ entries: [(String, String)]) async throws -> RouterEvent {
        let list: [JSONValue] = entries.map { .object(["id": .string($0.0), "text": .string($0.1)]) }
        return try await result(type: "memory_index", data: .object(["entries": .array(list)]))
    }

    /// Ids of `memory_search` results, best first.
    func searchIDs(_ query: String, limit: Int = 1000) async throws -> [String] {
        let event = try await result(type: "memory_search", data: .object(["query": .string(query), "limit": .number(Double(limit))]))
        guard case .array(let results)? = event.fields["results"] else { return [] }
        return results.compactMap { result -> String? in
            guard case .object(let fields) = result else { return nil }
            if case .string(let id)? = fields["id"] { return id }
            if case .object(let entry)? = fields["entry"], case .string(let id)? = entry["id"] { return id }
            return nil
        }
    }
}
