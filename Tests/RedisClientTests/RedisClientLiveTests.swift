import Foundation
import RedisClient
import RedisTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Against a real `redis-server` (Debian package; `.ci/run` installs it).
@Suite(.serialized, .enabled(if: RedisServerProcess.available, "redis-server is not installed"))
struct RedisClientLiveTests {
    static func client(_ server: RedisServerProcess, password: String? = nil, timeout: Duration = .seconds(2)) -> RedisClient {
        RedisClient(
            RedisConfiguration(
                endpoint: RedisEndpoint(port: server.port, password: password), connectTimeout: timeout,
                commandTimeout: timeout, initialBackoff: .milliseconds(200)))
    }

    @Test func commandsTheMemoryBackendUses() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let redis = Self.client(server)
        defer { redis.close() }
        #expect(try await redis.send(RedisCommand("PING")) == .simple("PONG"))
        // Lock: SET NX PX, a second SET NX fails, compare-and-delete by EVAL.
        #expect(try await redis.send(RedisCommand("SET", "lock", "me", "NX", "PX", "10000")) == .simple("OK"))
        #expect(try await redis.send(RedisCommand("SET", "lock", "you", "NX", "PX", "10000")) == .null)
        #expect(try await redis.send(RedisCommand("GET", "lock")).string == "me")
        let release = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"
        #expect(try await redis.send(RedisCommand("EVAL", release, "1", "lock", "you")) == .integer(0))
        #expect(try await redis.send(RedisCommand("EVAL", release, "1", "lock", "me")) == .integer(1))
        #expect(try await redis.send(RedisCommand("DEL", "lock")) == .integer(0))
        // Streams: binary payloads survive, XRANGE / XREAD return them, XTRIM MINID trims.
        let payload: [UInt8] = [0, 1, 13, 10, 255]
        let first = try await redis.send(RedisCommand("XADD", arguments: ["s", "*", "b", .binary(payload)])).string!
        let second = try await redis.send(RedisCommand("XADD", arguments: ["s", "*", "b", "x"])).string!
        let range = try await redis.send(RedisCommand("XRANGE", "s", "-", "+")).array!
        #expect(range.count == 2)
        #expect(range[0] == .array([.bulk(Array(first.utf8)), .array([.bulk([98]), .bulk(payload)])]))
        let read = try await redis.send(RedisCommand("XREAD", "COUNT", "10", "STREAMS", "s", first))
        #expect(read.array?.first?.array?[1].array?.count == 1)
        #expect(try await redis.send(RedisCommand("XTRIM", "s", "MINID", second)) == .integer(1))
        #expect(try await redis.send(RedisCommand("XLEN", "s")) == .integer(1))
        #expect(try await redis.send(RedisCommand("WAIT", "0", "100")) == .integer(0))
        let info = try await redis.send(RedisCommand("CONFIG", "GET", "appendonly")).array
        #expect(info == [.bulk(Array("appendonly".utf8)), .bulk(Array("no".utf8))])
    }

    @Test func xreadBlockWakesOnAnotherClientsXadd() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let reader = Self.client(server)
        let writer = Self.client(server)
        defer {
            reader.close()
            writer.close()
        }
        _ = try await writer.send(RedisCommand("XADD", "s", "*", "k", "0"))
        // The reader may not be blocked yet when the writer adds: add again until the read returns.
        let clock = ContinuousClock()
        let started = clock.now
        var result: RESPValue?
        try await withThrowingTaskGroup(of: RESPValue?.self) { group in
            group.addTask {
                try await reader.send(RedisCommand("XREAD", "BLOCK", "5000", "STREAMS", "s", "$"), timeout: .seconds(7))
            }
            group.addTask {
                while !Task.isCancelled {
                    _ = try await writer.send(RedisCommand("XADD", "s", "*", "k", "1"))
                    try await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            result = try await group.next()!
            group.cancelAll()
        }
        #expect(result?.array?.first?.array?[1].array?.isEmpty == false)
        #expect(started.duration(to: clock.now) < .seconds(5))
    }

    @Test func pipelinesManyCommandsInOneRoundTrip() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let redis = Self.client(server)
        defer { redis.close() }
        let commands = (0..<2000).map { RedisCommand("SET", "k\($0)", String(repeating: "v", count: $0 % 100)) } + [RedisCommand("DBSIZE")]
        let replies = try await redis.pipeline(commands)
        #expect(replies.count == 2001)
        #expect(replies.dropLast().allSatisfy { $0 == .simple("OK") })
        #expect(replies.last == .integer(2000))
    }

    @Test func serverErrorsAreClearMessages() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let redis = Self.client(server)
        defer { redis.close() }
        _ = try await redis.send(RedisCommand("SET", "str", "x"))
        await #expect {
            _ = try await redis.send(RedisCommand("XADD", "str", "*", "a", "b"))
        } throws: { error in
            "\(error)".hasPrefix("Redis refused the command: WRONGTYPE")
        }
        // In a pipeline, one failing command does not fail the others.
        let replies = try await redis.pipeline([RedisCommand("GET", "str"), RedisCommand("NOSUCH"), RedisCommand("PING")])
        #expect(replies[0].string == "x")
        guard case .error(let message) = replies[1] else { throw TestFailure("expected an error reply") }
        #expect(message.hasPrefix("ERR unknown command"))
        #expect(replies[2] == .simple("PONG"))
    }

    @Test func authenticatesAndReportsAWrongPassword() async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "sesame"])
        try server.start()
        let good = Self.client(server, password: "sesame")
        let bad = Self.client(server, password: "wrong")
        let none = Self.client(server)
        defer {
            good.close()
            bad.close()
            none.close()
        }
        #expect(try await good.send(RedisCommand("PING")) == .simple("PONG"))
        await #expect {
            _ = try await bad.send(RedisCommand("PING"))
        } throws: { error in
            guard case RedisError.authenticationFailed(let message) = error else { return false }
            return message.contains("WRONGPASS")
        }
        await #expect {
            _ = try await none.send(RedisCommand("PING"))
        } throws: { error in
            "\(error)".contains("NOAUTH")
        }
    }

    @Test func refusedConnectionFailsThenBacksOffThenReconnects() async throws {
        let server = try RedisServerProcess()
        // A backoff long enough that the second command surely falls within it, even on a loaded machine (with
        // 200 ms, a CI run once took longer than that between the two and reconnected instead).
        let redis = RedisClient(
            RedisConfiguration(
                endpoint: RedisEndpoint(port: server.port), connectTimeout: .seconds(2), commandTimeout: .seconds(2),
                initialBackoff: .seconds(3), maxBackoff: .seconds(3)))
        defer { redis.close() }
        await #expect {
            _ = try await redis.send(RedisCommand("PING"))
        } throws: { error in
            guard case RedisError.connectFailed(_, let reason) = error else { return false }
            return reason.contains("refused")
        }
        // Within the backoff: fails at once, saying why and when it retries.
        await #expect {
            _ = try await redis.send(RedisCommand("PING"))
        } throws: { error in
            guard case RedisError.unavailable(let last, _) = error else { return false }
            return last.contains("refused")
        }
        try server.start()
        var reply: RESPValue?
        while reply == nil {
            reply = try? await redis.send(RedisCommand("PING"))
            if reply == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reply == .simple("PONG"))
        // A restart of Redis: the idle connection is dead; the next command reconnects transparently.
        server.stop()
        try server.start()
        #expect(try await redis.send(RedisCommand("PING")) == .simple("PONG"))
    }

    /// Another connection saw Redis come back (the memory backend's tailer): `retryNow()` ends the backoff, so
    /// the next command connects at once instead of failing for the rest of its delay.
    @Test func retryNowEndsTheBackoffOnceRedisIsKnownToBeBack() async throws {
        let server = try RedisServerProcess()
        let redis = RedisClient(
            RedisConfiguration(endpoint: RedisEndpoint(port: server.port), initialBackoff: .seconds(60), maxBackoff: .seconds(60)))
        defer { redis.close() }
        await #expect(throws: RedisError.self) { _ = try await redis.send(RedisCommand("PING")) }  // refused: 60 s backoff
        try server.start()
        await #expect {
            _ = try await redis.send(RedisCommand("PING"))
        } throws: { error in
            guard case RedisError.unavailable = error else { return false }
            return true
        }
        redis.retryNow()
        #expect(try await redis.send(RedisCommand("PING")) == .simple("PONG"))
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        // A listening socket that never accepts: the kernel completes the handshake, nobody answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let port = try RedisServerProcess.freePort()
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let listening = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 && listen(fd, 8) == 0
            }
        }
        #expect(listening)
        let redis = RedisClient(
            RedisConfiguration(endpoint: RedisEndpoint(port: port), connectTimeout: .seconds(1), commandTimeout: .milliseconds(300)))
        defer { redis.close() }
        let clock = ContinuousClock()
        let started = clock.now
        await #expect {
            _ = try await redis.send(RedisCommand("PING"))
        } throws: { error in
            "\(error)" == "Redis did not answer PING within 300 ms"
        }
        #expect(started.duration(to: clock.now) < .seconds(2))
    }
}
