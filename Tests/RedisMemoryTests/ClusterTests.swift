import Foundation
import RedisTestSupport
import RouterClient
import RouterCore
import RouterTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15's "what it must show": three `router-host`s sharing one Redis stream behind HAProxy
/// (`deploy/haproxy.cfg` as shipped), with real processes, `kill -9` and a real Redis with AOF `always`.
@Suite(.serialized, .enabled(if: Cluster.available, "needs redis-server, haproxy and python3 (.ci/run installs them)"))
struct ClusterTests {
    static func cluster() throws -> Cluster {
        let cluster = try Cluster()
        do {
            for index in 0..<3 { try cluster.startHost(index) }
            try cluster.startHAProxy()
        } catch {
            cluster.stop()
            throw error
        }
        return cluster
    }

    static func connect(_ url: String) async throws -> RouterClient {
        var options = RouterClient.Options()
        options.reconnect = .init(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200))
        return try await RouterClient.connect(url: url, options: options)
    }

    static func percentile(_ sorted: [Duration], _ p: Double) -> Duration {
        sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }

    @Test func anEntryIndexedOnOneHostIsFoundOnTheOthers() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let writer = try await Self.connect(cluster.url(host: 0))
        let readers = [try await Self.connect(cluster.url(host: 1)), try await Self.connect(cluster.url(host: 2))]
        var latencies: [Duration] = []
        let clock = ContinuousClock()
        for round in 0..<40 {
            let word = "propagation\(round)marker"
            _ = try await writer.index([("p\(round)", "cluster entry \(word)")])
            let acknowledged = clock.now
            // Measurement, not synchronization: each reader searches until it sees the entry.
            for reader in readers {
                while try await reader.searchIDs(word) != ["p\(round)"] {}
                latencies.append(acknowledged.duration(to: clock.now))
            }
            #expect(try await writer.searchIDs(word) == ["p\(round)"])  // read-your-write on the writing host
        }
        let sorted = latencies.sorted()
        print("propagation (index_complete on host 1 → found by a search on host 2/3), \(sorted.count) samples: "
            + "p50 \(Self.percentile(sorted, 0.5)), p99 \(Self.percentile(sorted, 0.99)), max \(sorted.last!)")
        for client in [writer] + readers { await client.close() }
    }

    @Test func killingAHostSurfacesTheLostOperationAndACutConnectionResumesOnTheSameHost() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        // A cut connection (the host alive): the cookie brings the client back to its host, which resumes.
        let proxy = try TCPProxy(targetPort: cluster.haproxyPort)
        defer { proxy.stop() }
        let client = try await Self.connect("ws://127.0.0.1:\(proxy.port)/ws/memory")
        let cookie = try #require(client.cookieHeader)
        #expect(cookie.hasPrefix("MRHOST=host"))
        let session = try #require(client.session)
        var events = client.connectionEvents.makeAsyncIterator()
        proxy.cut()
        var resumed = false
        while let event = await events.next() {
            if case .resumed(let resumedSession, _) = event {
                resumed = resumedSession == session
                break
            }
            if case .resumeFailed = event { break }
        }
        #expect(resumed)
        #expect(client.cookieHeader == cookie)

        // kill -9 of the host during an operation: the reconnect lands on another host, which does not know the
        // session (`unknown_session`), and the operation fails with session_lost instead of silently re-running.
        let hostIndex = try #require(Int(cookie.dropFirst("MRHOST=host".count))) - 1
        var stream = client.request(type: "hold").makeAsyncIterator()
        let first = try await stream.next()
        #expect(first?.kind == .chunk)
        cluster.hosts[hostIndex]?.kill9()
        do {
            while try await stream.next() != nil {}
            Issue.record("the held operation ended without an error")
        } catch let error as RouterError {
            #expect(error.code == RouterError.sessionLost)
            #expect(error.message.contains("unknown_session"), "\(error.message)")
        }
        var failedReason: String?
        while let event = await events.next() {
            if case .resumeFailed(let reason, _) = event {
                failedReason = reason
                break
            }
        }
        #expect(failedReason == "unknown_session")
        #expect(client.cookieHeader != cookie)  // stuck to the new host now
        #expect(try await client.searchIDs("anything").count >= 0)  // the new session works
        await client.close()
    }

    /// DEPLOY.md "a host is drained": SIGTERM of a host with an operation in flight. The host keeps listening and
    /// answers `/healthz` with 503 `draining`, so HAProxy marks it down (its health check, not a refused
    /// connection); new connections, and a client coming back with the drained host's cookie, go to the other
    /// hosts; the operation in flight completes with its result; then the host closes with 1001 and exits 0,
    /// and its client continues on another host (`unknown_session`, nothing lost: nothing was in flight).
    @Test func sigtermDrainsAHostHAProxyMarksItDownAndItsInFlightOperationCompletes() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let fifo = cluster.directory.appendingPathComponent("release").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let client = try await Self.connect(cluster.balancedURL)
        let cookie = try #require(client.cookieHeader)
        let hostIndex = try #require(Int(cookie.dropFirst("MRHOST=host".count))) - 1
        let drained = try #require(cluster.hosts[hostIndex])
        var events = client.connectionEvents.makeAsyncIterator()
        var stream = client.request(type: "hold", data: .object(["release": .string(fifo)])).makeAsyncIterator()
        #expect(try await stream.next()?.kind == .chunk)  // in flight, and its FIFO is open

        drained.signal(SIGTERM)
        try drained.waitForLog("draining: ")
        // HAProxy's check (every 1 s, down after 2 failures) sees the 503 and logs the state change.
        try cluster.haproxy!.waitForLog("Server router_hosts/host\(hostIndex + 1) is DOWN")
        let stat = try cluster.serverStat("host\(hostIndex + 1)")
        #expect(stat["status"] == "DOWN", "\(stat)")
        // HAProxy prefixes the last check's status with "* " while the next check is running.
        let checkStatus = stat["check_status"].map { $0.hasPrefix("* ") ? String($0.dropFirst(2)) : $0 }
        #expect(checkStatus == "L7STS" && stat["check_code"] == "503", "failed on the 503, not a refused connection: \(stat)")
        let health = try Cluster.httpGet(port: cluster.hostPorts[hostIndex], path: "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 503") && health.contains(#""status":"draining""#) && health.contains(#""inFlight":1"#), "\(health)")

        // New connections land on the other hosts; so does one that comes with the drained host's cookie.
        var others: [RouterClient] = []
        for _ in 0..<4 {
            let other = try await Self.connect(cluster.balancedURL)
            #expect(other.cookieHeader != nil && other.cookieHeader != cookie, "\(other.cookieHeader ?? "no cookie")")
            #expect(try await other.searchIDs("anything").count >= 0)
            others.append(other)
        }
        let redispatched = try Cluster.httpGet(port: cluster.haproxyPort, path: "/healthz", cookie: cookie)
        #expect(redispatched.hasPrefix("HTTP/1.1 200") && redispatched.contains(#""status":"ok""#), "\(redispatched)")

        // Release the operation: it completes with its result on the draining host.
        let writer = open(fifo, O_WRONLY | O_NONBLOCK)
        #expect(writer >= 0, "the plugin does not hold the FIFO open (errno \(errno))")
        _ = write(writer, "go\n", 3)
        close(writer)
        let result = try await stream.next()
        #expect(result?.kind == .result)
        #expect(result?.fields["released"] == .bool(true), "\(String(describing: result))")
        #expect(try await stream.next() == nil)

        // Nothing in flight any more: the host closes with 1001 and exits 0; the client goes on elsewhere.
        var failedReason: String?
        while let event = await events.next() {
            if case .resumeFailed(let reason, _) = event {
                failedReason = reason
                break
            }
        }
        #expect(failedReason == "unknown_session")
        #expect(client.cookieHeader != nil && client.cookieHeader != cookie)
        #expect(try await client.searchIDs("anything").count >= 0)
        #expect(drained.waitForExit() == 0, "\(drained.log.suffix(2000))")
        #expect(drained.log.contains("drained: no operation in flight"), "\(drained.log.suffix(2000))")
        for other in others + [client] { await other.close() }
    }

    @Test func redisOutageFailsWritesKeepsSearchesAndLosesNoAcknowledgedWrite() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let clients = [try await Self.connect(cluster.url(host: 0)), try await Self.connect(cluster.url(host: 1)),
                       try await Self.connect(cluster.url(host: 2))]
        var acknowledged: [String] = []
        for round in 0..<5 {
            _ = try await clients[round % 3].index([("a\(round)", "cluster outage entry before")])
            acknowledged.append("a\(round)")
        }
        for (outage, kill) in [(0, false), (1, true)] {
            cluster.redis.stop(kill: kill)
            for host in cluster.hosts { try host!.waitForLog("memory backend: Redis unreachable", count: outage + 1) }
            await #expect {
                _ = try await clients[0].index([("lost\(outage)", "cluster never acknowledged")])
            } throws: { error in
                guard let error = error as? RouterError else { return false }
                return error.code == "memory_index_error" && error.message.hasPrefix("memory store unavailable: ")
            }
            #expect(Set(try await clients[1].searchIDs("cluster")) == Set(acknowledged))  // searches keep working
            let health = try Cluster.httpGet(port: cluster.hostPorts[2], path: "/healthz")
            #expect(health.contains(#""status":"degraded""#) && health.contains("Redis unreachable"), "\(health)")
            let metrics = try Cluster.httpGet(port: cluster.hostPorts[2], path: "/metrics")
            #expect(metrics.contains("memory_redis_connected 0") && metrics.contains("memory_redis_stream_lag_seconds"))

            try cluster.redis.start()  // same directory: the AOF (fsync always) restores the stream
            for host in cluster.hosts { try host!.waitForLog("memory backend: connected to Redis", count: outage + 2) }
            for round in 0..<5 {
                _ = try await clients[round % 3].index([("b\(outage)-\(round)", "cluster outage entry after")])
                acknowledged.append("b\(outage)-\(round)")
            }
            for client in clients {
                while try await Set(client.searchIDs("cluster")) != Set(acknowledged) {}  // catch-up, no restart
            }
        }
        for client in clients { await client.close() }
    }

    @Test func aHostStartedLateAfterASnapshotAndTrimHasTheSameCorpus() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let writer = try await Self.connect(cluster.url(host: 0))
        let words = ["tea", "kettle", "garden", "river", "lamp"]
        for batch in 0..<60 {
            let entries = (0..<5).map { ("l\(batch)-\($0)", "cluster \(words[$0]) \(words[(batch + $0) % 5]) note \(batch)") }
            _ = try await writer.index(entries)
        }
        // Some host takes the lock, writes the snapshot and trims the stream behind it.
        // (Snapshots are checked every 300 ms from 50 stream entries on; whichever host takes the lock writes it.)
        var written = false
        for _ in 0..<25 where !written {
            for host in cluster.hosts where (try? host!.waitForLog("memory backend: snapshot written", timeout: 0.2)) != nil {
                written = true
                break
            }
        }
        #expect(written)
        _ = try await writer.index([("after-snapshot", "cluster tea written after the snapshot")])
        let late = try cluster.startHost(3)
        try late.waitForLog("memory backend: snapshot loaded")
        let lateClient = try await Self.connect(cluster.url(host: 3))
        let other = try await Self.connect(cluster.url(host: 1))
        while try await lateClient.searchIDs("snapshot") != ["after-snapshot"] {}
        #expect(try await lateClient.searchIDs("cluster").count == 301)
        #expect(try await other.searchIDs("cluster").count == 301)
        for query in ["tea", "kettle garden", "river note 7", "lamp", "cluster tea"] {
            #expect(try await lateClient.searchIDs(query, limit: 50) == other.searchIDs(query, limit: 50), "\(query)")
        }
        for client in [writer, lateClient, other] { await client.close() }
    }
}
