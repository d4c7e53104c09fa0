import CLinuxShims
import Foundation
import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// The router's overhead against raw echo, on a server started separately (e.g. `router-host --config
/// config/bench.json`, pinned with `taskset`): the same single-threaded epoll client sends the same 15-byte
/// text `{"type":"ping"}` with a window of W messages per connection, first to `server.echoPath` (echoed by the
/// transport), then to the router path (JSON decode, dispatch, `pong` encoded with its `seq`, sent back through
/// the connection's handle). Reports messages/s for both and their ratio; with `--server-pid`, the server's CPU
/// share and CPU time per message (independent of whether the client was the limit).
///
/// `router-bench ping --port P [--echo-path /ws/echo] [--router-path /ws/memory] [--connections 50]
/// [--window 8] [--seconds 10] [--warmup 2] [--server-pid PID]`
enum PingPongBenchmark {
    struct Phase {
        var messages = 0
        var seconds = 0.0
        var serverCPUSeconds: Double?
        var perSecond: Double { Double(messages) / seconds }
    }

    static func run(arguments: [String]) throws {
        let port = RouterBench.option("--port", in: arguments, default: 0)
        guard port > 0 else { throw BenchError("ping needs --port of a running router-host (see BENCHMARKS.md)") }
        let connections = RouterBench.option("--connections", in: arguments, default: 50)
        let window = RouterBench.option("--window", in: arguments, default: 8)
        let seconds = RouterBench.option("--seconds", in: arguments, default: 10)
        let warmup = RouterBench.option("--warmup", in: arguments, default: 2)
        let serverPID = RouterBench.option("--server-pid", in: arguments, default: 0)
        let echoPath = RouterBench.value("--echo-path", in: arguments) ?? "/ws/echo"
        let routerPath = RouterBench.value("--router-path", in: arguments) ?? "/ws/memory"
        print("ping→pong vs echo: \(connections) connections, window \(window), \(seconds) s (+\(warmup) s warm-up), port \(port)")
        var phases: [(String, Phase)] = []
        for (name, path, skipFirst) in [("echo", echoPath, false), ("router", routerPath, true)] {
            let load = try Load(port: port, path: path, connections: connections, window: window, skipsWelcome: skipFirst)
            _ = try load.run(for: .seconds(warmup), serverPID: serverPID)
            let phase = try load.run(for: .seconds(seconds), serverPID: serverPID)
            load.close()
            phases.append((name, phase))
            var line = String(format: "  %@ %@: %.0f msg/s", name, path, phase.perSecond)
            if let cpu = phase.serverCPUSeconds {
                line += String(format: ", server CPU %.0f%%, %.2f µs CPU per message", cpu / phase.seconds * 100, cpu / Double(phase.messages) * 1e6)
            }
            print(line)
        }
        let (echo, router) = (phases[0].1, phases[1].1)
        var summary = String(format: "  router/echo throughput ratio: %.2f×", router.perSecond / echo.perSecond)
        if let echoCPU = echo.serverCPUSeconds, let routerCPU = router.serverCPUSeconds {
            let perEcho = echoCPU / Double(echo.messages)
            let perRouter = routerCPU / Double(router.messages)
            summary += String(format: "; server CPU per message ratio (echo/router): %.2f×", perEcho / perRouter)
        }
        print(summary)
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// User + system CPU seconds of a process, from `/proc/PID/stat`.
    static func cpuSeconds(pid: Int) -> Double? {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// N connections driven by one epoll thread: each keeps `window` messages in flight.
    final class Load {
        private var sockets: [Int32] = []
        private var decoders: [FrameDecoder] = []
        private var pendingWelcome: [Bool] = []
        private var inbound: [[UInt8]] = []
        private let epoll: Int32
        private let frame: [UInt8]

        init(port: Int, path: String, connections: Int, window: Int, skipsWelcome: Bool) throws {
            var frame: [UInt8] = []
            Array(#"{"type":"ping"}"#.utf8).withUnsafeBytes {
                FrameEncoder.encode(opcode: .text, payload: $0, maskingKey: (0x37, 0xfa, 0x21, 0x3d), into: &frame)
            }
            self.frame = frame
            epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
            for index in 0..<connections {
                let (fd, leftover) = try Self.connect(port: port, path: path)
                sockets.append(fd)
                decoders.append(FrameDecoder(role: .client, maxFramePayload: 1 << 20))
                pendingWelcome.append(skipsWelcome)
                inbound.append(leftover)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                var event = epoll_event()
                event.events = EPOLLIN.rawValue
                event.data.u64 = UInt64(index)
                epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
            }
            for index in sockets.indices { try send(count: window, on: index) }
        }

        func close() {
            for fd in sockets { Glibc.close(fd) }
            Glibc.close(epoll)
        }

        /// Counts answers for `duration`, sending one new message per answer.
        func run(for duration: Duration, serverPID: Int) throws -> Phase {
            let cpuBefore = PingPongBenchmark.cpuSeconds(pid: serverPID)
            let start = ContinuousClock.now
            let deadline = start + duration
            var phase = Phase()
            var events = [epoll_event](repeating: epoll_event(), count: 64)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while ContinuousClock.now < deadline {
                let ready = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, 64, 100) }
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw BenchError("epoll_wait: errno \(errno)")
                }
                for slot in 0..<Int(ready) {
                    let index = Int(events[slot].data.u64)
                    let answers = try readAnswers(index, into: &buffer)
                    phase.messages += answers
                    if answers > 0 { try send(count: answers, on: index) }
                }
            }
            phase.seconds = (ContinuousClock.now - start).inSeconds
            if let before = cpuBefore, let after = PingPongBenchmark.cpuSeconds(pid: serverPID) {
                phase.serverCPUSeconds = after - before
            }
            return phase
        }

        /// Reads what is available and returns the number of complete text messages (pongs or echoes).
        private func readAnswers(_ index: Int, into buffer: inout [UInt8]) throws -> Int {
            let fd = sockets[index]
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN { break }
                    throw BenchError("read: errno \(errno)")
                }
                if count == 0 { throw BenchError("the server closed connection \(index)") }
                inbound[index].append(contentsOf: buffer[0..<count])
                if count < buffer.count { break }
            }
            var answers = 0
            var offset = 0
            try inbound[index].withUnsafeBytes { bytes in
                while offset < bytes.count,
                    let (frame, used) = try decoders[index].decode(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                {
                    offset += used
                    guard frame.opcode == .text else { continue }
                    if pendingWelcome[index] {
                        pendingWelcome[index] = false
                    } else {
                        answers += 1
                    }
                }
            }
            inbound[index].removeSubrange(0..<offset)
            return answers
        }

        private func send(count: Int, on index: Int) throws {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(frame.count * count)
            for _ in 0..<count { bytes += frame }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.send(sockets[index], $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                if written < 0 {
                    // Small windows never fill a socket buffer; spin briefly if they do.
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw BenchError("send: errno \(errno)")
                }
                offset += written
            }
        }

        private static func connect(port: Int, path: String) throws -> (Int32, [UInt8]) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw BenchError("connect to 127.0.0.1:\(port): errno \(errno)") }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let request = ClientHandshake.request(host: "127.0.0.1", port: port, path: path, key: ClientHandshake.randomKey())
            _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            let terminator: [UInt8] = [13, 10, 13, 10]
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { throw BenchError("the handshake on \(path) ended early") }
                received += chunk[0..<count]
                if let end = received.firstRange(of: terminator) {
                    let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                    guard head.hasPrefix("HTTP/1.1 101") else {
                        throw BenchError("no upgrade on \(path): \(head.prefix(while: { $0 != "\r" }))")
                    }
                    return (fd, Array(received[end.upperBound...]))
                }
            }
        }
    }
}
