import Foundation
import MemoryStore
import RedisClient
import RedisTestSupport
import RedisMemory
import Synchronization
import Testing

/// Collects a backend's events and lets a test wait for one (a condition variable, no sleeps).
final class EventRecorder: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [RedisMemoryBackend.Event] = []

    var sink: @Sendable (RedisMemoryBackend.Event) -> Void { { [self] event in record(event) } }

    func record(_ event: RedisMemoryBackend.Event) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `predicate` holds for the events so far (checked after every event); false on timeout.
    func wait(timeout: TimeInterval = 15, until predicate: ([RedisMemoryBackend.Event]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(events) {
            if !condition.wait(until: deadline) { return predicate(events) }
        }
        return true
    }

    func contains(_ match: (RedisMemoryBackend.Event) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return events.contains(where: match)
    }
}

extension RedisMemoryBackend.Event {
    var isDisconnected: Bool { if case .disconnected = self { true } else { false } }
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var isSnapshotLoaded: Bool { if case .snapshotLoaded = self { true } else { false } }
}

@Suite(.serialized, .enabled(if: RedisServerProcess.available, "redis-server is not installed"))
struct RedisMemoryBackendTests {
    static func settings(_ server: RedisServerProcess, stream: String = "memories") -> RedisMemorySettings {
        RedisMemorySettings(
            connection: RedisConfiguration(
                endpoint: RedisEndpoint(port: server.port), connectTimeout: .milliseconds(500), commandTimeout: .seconds(2),
                initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200)),
            stream: stream, snapshotInterval: .seconds(3600), blockTimeout: .milliseconds(200))
    }

    static func entry(_ id: String, _ text: String) -> MemoryEntry {
        MemoryEntry(id: id, text: text, tags: ["t"], createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func aWriteOnOneHostIsSearchableOnAnother() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        try server.start()
        let eventsB = EventRecorder()
        let a = RedisMemoryBackend(settings: Self.settings(server))
        let b = RedisMemoryBackend(settings: Self.settings(server), events: eventsB.sink)
        #expect(await a.start(initialSyncTimeout: .seconds(10)))
        #expect(await b.start(initialSyncTimeout: .seconds(10)))
        let receipt = try await a.write([Self.entry("m1", "the kettle whistles at dawn")])
        #expect(receipt == MemoryWriteReceipt(storage: "redis", durable: true))
        // Read-your-write on the writing host, at once.
        #expect(a.store.get(id: "m1")?.text == "the kettle whistles at dawn")
        #expect(eventsB.wait { _ in b.store.get(id: "m1") != nil })
        #expect(try b.store.search(query: "kettle").map(\.entry.id) == ["m1"])
        await a.stop()
        await b.stop()
    }

    @Test func redisAwayFailsWritesKeepsSearchesAndCatchesUp() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        try server.start()
        let eventsA = EventRecorder()
        let eventsB = EventRecorder()
        let a = RedisMemoryBackend(settings: Self.settings(server), events: eventsA.sink)
        let b = RedisMemoryBackend(settings: Self.settings(server), events: eventsB.sink)
        #expect(await a.start(initialSyncTimeout: .seconds(10)))
        #expect(await b.start(initialSyncTimeout: .seconds(10)))
        _ = try await a.write([Self.entry("before", "written before the outage")])
        #expect(eventsB.wait { _ in b.store.get(id: "before") != nil })

        server.stop()
        #expect(eventsA.wait { $0.contains(where: \.isDisconnected) })
        #expect(a.degradedReason?.hasPrefix("Redis unreachable: ") == true)
        await #expect {
            _ = try await a.write([Self.entry("during", "must not be acknowledged")])
        } throws: { error in
            "\(error)".hasPrefix("memory store unavailable: ")
        }
        #expect(a.store.get(id: "during") == nil)
        #expect(try a.store.search(query: "outage").map(\.entry.id) == ["before"])

        try server.start()  // same directory: the AOF brings the stream back
        #expect(eventsA.wait { _ in a.degradedReason == nil })
        _ = try await a.write([Self.entry("after", "written after the outage")])
        #expect(eventsB.wait { _ in b.store.get(id: "after") != nil })
        #expect(b.store.get(id: "before") != nil)
        #expect(b.store.get(id: "during") == nil)
        await a.stop()
        await b.stop()
    }

    @Test func aLateHostLoadsTheSnapshotAndTheStreamAfterIt() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let events = EventRecorder()
        let eventsC = EventRecorder()
        let a = RedisMemoryBackend(settings: Self.settings(server), events: events.sink)
        #expect(await a.start(initialSyncTimeout: .seconds(10)))
        for batch in 0..<20 {
            _ = try await a.write((0..<10).map { Self.entry("e\(batch)-\($0)", "batch \(batch) entry \($0) about tea and kettles") })
        }
        // Once this host applied the whole stream, its snapshot covers it all and the trim leaves one entry.
        let redisA = RedisClient(Self.settings(server).connection)
        defer { redisA.close() }
        let newest = try await redisA.send(RedisCommand("XREVRANGE", "memories", "+", "-", "COUNT", "1")).array?.first?.array?.first?.string
        let last = try #require(newest.flatMap(StreamID.init))
        #expect(events.wait { _ in a.status.lastApplied == last })
        #expect(try a.snapshotIfDue(force: true))
        let redis = RedisClient(Self.settings(server).connection)
        defer { redis.close() }
        #expect(try await redis.send(RedisCommand("XLEN", "memories")) == .integer(1))  // trimmed behind the snapshot
        _ = try await a.write([Self.entry("late", "after the snapshot, about tea")])

        let c = RedisMemoryBackend(settings: Self.settings(server), events: eventsC.sink)
        #expect(await c.start(initialSyncTimeout: .seconds(10)))
        #expect(eventsC.contains(\.isSnapshotLoaded))
        #expect(c.store.count == 201)
        #expect(c.store.count == a.store.count)
        for query in ["tea", "kettles", "batch 7", "entry 3"] {
            #expect(try c.store.search(query: query, limit: 20).map(\.entry.id) == a.store.search(query: query, limit: 20).map(\.entry.id))
        }
        await a.stop()
        await c.stop()
    }
}
