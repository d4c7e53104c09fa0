import Foundation
public import MemoryStore
public import RedisClient

/// Where the current snapshot is: `<stream>:snapshot` holds `1 <generation> <lastID> <entries> <chunks>`;
/// the entries are in `<stream>:snapshot:<generation>:<0..<chunks>`, each a ``ReplicatedBatch`` of upserts.
public struct SnapshotManifest: Sendable, Equatable {
    public var generation: String
    /// The last stream entry the snapshot includes: a host loads it, then reads the stream after this id.
    public var lastID: StreamID
    public var entries: Int
    public var chunks: Int

    var encoded: String { "1 \(generation) \(lastID) \(entries) \(chunks)" }

    init(generation: String, lastID: StreamID, entries: Int, chunks: Int) {
        self.generation = generation
        self.lastID = lastID
        self.entries = entries
        self.chunks = chunks
    }

    init(decoding text: String, key: String) throws(RedisError) {
        let fields = text.split(separator: " ").map(String.init)
        guard fields.count == 5, fields[0] == "1", let lastID = StreamID(fields[2]), let entries = Int(fields[3]),
            let chunks = Int(fields[4]), entries >= 0, chunks >= 0
        else {
            throw .unexpectedReply(command: "GET \(key)", reply: "\"\(text.prefix(100))\" is not a snapshot manifest")
        }
        self.init(generation: fields[1], lastID: lastID, entries: entries, chunks: chunks)
    }
}

/// Reads and writes snapshots (blocking, on the caller's dedicated thread).
public enum RedisSnapshots {
    /// A snapshot could not be read or written (besides link failures, which are ``RedisError``s).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The manifest of the current snapshot, if any.
    public static func manifest(_ settings: RedisMemorySettings, _ link: ReconnectingConnection) throws(RedisError) -> SnapshotManifest? {
        let reply = try link.send(RedisCommand("GET", settings.metaKey))
        guard let text = reply.string else { return nil }
        return try SnapshotManifest(decoding: text, key: settings.metaKey)
    }

    /// Loads the current snapshot; nil when there is none. Retries when a newer snapshot replaced the chunks
    /// while they were being read.
    public static func load(_ settings: RedisMemorySettings, _ link: ReconnectingConnection) throws -> (SnapshotManifest, [MemoryEntry])? {
        for _ in 0..<5 {
            guard let manifest = try manifest(settings, link) else { return nil }
            var entries: [MemoryEntry] = []
            entries.reserveCapacity(manifest.entries)
            var complete = true
            for index in 0..<manifest.chunks {
                let key = settings.chunkKey(generation: manifest.generation, index: index)
                let reply = try link.send(RedisCommand("GET", key), timeout: settings.connection.commandTimeout * 10)
                guard let bytes = reply.bytes else {
                    complete = false
                    break
                }
                for record in try ReplicatedBatch.decode(bytes) {
                    if case .upsert(let entry) = record { entries.append(entry) }
                }
            }
            if complete { return (manifest, entries) }
        }
        throw Failure(description: "the snapshot kept changing while it was read (5 attempts)")
    }

    /// Writes `entries` as the snapshot up to `lastID`, if `token` still holds the lock when the manifest is
    /// switched; then trims the stream behind it (`XTRIM MINID lastID`, atomically with the switch) and deletes
    /// the previous snapshot's chunks.
    /// - Returns: the new manifest and how many stream entries were trimmed, or nil if the lock was lost.
    public static func write(
        _ entries: [MemoryEntry], lastID: StreamID, token: String, settings: RedisMemorySettings, link: ReconnectingConnection
    ) throws(RedisError) -> (SnapshotManifest, trimmed: Int)? {
        let previous = try? manifest(settings, link)
        let generation = "\(lastID)-\(UInt32.random(in: 0...UInt32.max))"
        var chunks = 0
        var pending: [LogRecord] = []
        var pendingBytes = 0
        func flush() throws(RedisError) {
            guard !pending.isEmpty else { return }
            let key = settings.chunkKey(generation: generation, index: chunks)
            _ = try link.send(
                RedisCommand("SET", arguments: [.text(key), .binary(ReplicatedBatch.encode(pending))]),
                timeout: settings.connection.commandTimeout * 10)
            chunks += 1
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
        }
        for entry in entries {
            pending.append(.upsert(entry))
            pendingBytes += entry.id.utf8.count + entry.text.utf8.count + entry.tags.reduce(0) { $0 + $1.utf8.count + 2 }
                + 4 * (entry.embedding?.count ?? 0) + 24
            if pendingBytes >= settings.snapshotChunkBytes { try flush() }
        }
        try flush()
        let manifest = SnapshotManifest(generation: generation, lastID: lastID, entries: entries.count, chunks: chunks)
        let script = """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
            redis.call('SET', KEYS[2], ARGV[2])
            return redis.call('XTRIM', KEYS[3], 'MINID', ARGV[3])
            """
        let reply = try link.send(
            RedisCommand("EVAL", script, "3", settings.lockKey, settings.metaKey, settings.stream, token, manifest.encoded, "\(lastID)"))
        guard let trimmed = reply.integer else { throw .unexpectedReply(command: "EVAL (switch snapshot)", reply: reply.description) }
        guard trimmed >= 0 else {
            deleteChunks(generation: generation, count: chunks, settings: settings, link: link)
            return nil
        }
        if let previous, previous.generation != generation {
            deleteChunks(generation: previous.generation, count: previous.chunks, settings: settings, link: link)
        }
        return (manifest, Int(trimmed))
    }

    private static func deleteChunks(generation: String, count: Int, settings: RedisMemorySettings, link: ReconnectingConnection) {
        guard count > 0 else { return }
        let keys = (0..<count).map { settings.chunkKey(generation: generation, index: $0) }
        _ = try? link.send(RedisCommand("DEL", arguments: keys.map { .text($0) }))
    }

    /// Takes the snapshot lock for `ttl` (`SET NX PX`); true if this `token` now holds it.
    public static func lock(token: String, settings: RedisMemorySettings, link: ReconnectingConnection) throws(RedisError) -> Bool {
        let reply = try link.send(
            RedisCommand("SET", settings.lockKey, token, "NX", "PX", String(RedisError.milliseconds(settings.snapshotLockTTL))))
        return reply == .simple("OK")
    }

    /// Releases the lock if `token` still holds it (compare-and-delete in one script).
    public static func unlock(token: String, settings: RedisMemorySettings, link: ReconnectingConnection) {
        let script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"
        _ = try? link.send(RedisCommand("EVAL", script, "1", settings.lockKey, token))
    }
}
