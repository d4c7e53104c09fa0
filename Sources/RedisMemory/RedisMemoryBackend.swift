import Foundation
public import MemoryStore
public import RedisClient
import Synchronization

/// The Redis memory backend (`memory.backend: "redis"`): a Redis Stream is the durable log of memory writes
/// shared by every host; each host tails it into its own in-memory ``MemoryStore`` (inverted index, vector
/// slab), which searches read.
///
/// - **Writes** (``write(_:)``, the ``MemoryWriter`` seam): `XADD <stream> * b <ReplicatedBatch>`; with
///   ``RedisMemorySettings/waitReplicas`` > 0 then `WAIT n timeout`. Only after Redis acknowledged is the batch
///   applied here (if the tailer has not already passed it) and the write acknowledged. Any failure throws
///   ``MemoryBackendUnavailable`` at once (the client's connection fails fast while its backoff runs): an
///   unacknowledged batch is never reported written (it may still appear later, e.g. if Redis applied it and
///   the reply was lost; upserts are idempotent).
/// - **Tailing**: a dedicated thread reads `XREAD BLOCK` after the last applied id and applies each batch in
///   stream order. When Redis is away it keeps retrying with backoff; searches keep answering from the state
///   already applied; ``health`` says `degraded` with the reason. When Redis is back, it checks whether the
///   stream was trimmed past its position (`XINFO STREAM` `max-deleted-entry-id`), reloads the snapshot if so,
///   and catches up, without a restart.
/// - **Start-up**: the snapshot (``RedisSnapshots``), then the stream after its last id.
/// - **Snapshots**: a second thread checks every ``RedisMemorySettings/snapshotInterval`` whether the stream
///   holds ``RedisMemorySettings/snapshotMinEntries`` entries; if so, and if it takes the lock (`SET NX PX`),
///   it writes this host's state up to its last applied id and trims the stream behind it.
///
/// Ordering: every host applies batches in stream order. A batch applied early by the host that wrote it is
/// applied again, in order, when the tailer reaches it, so all hosts converge on the stream's order.
public final class RedisMemoryBackend: MemoryWriter, Sendable {
    /// Something worth logging (the backend does not depend on the router's logger).
    public enum Event: Sendable {
        case connected
        case disconnected(String)
        case caughtUp(appliedBatches: Int, lastID: StreamID)
        /// Stream entries up to `lastID` are applied here (after each read of the stream).
        case applied(lastID: StreamID)
        case snapshotLoaded(entries: Int, lastID: StreamID, seconds: Double)
        case snapshotWritten(entries: Int, lastID: StreamID, trimmed: Int, seconds: Double)
        case failure(String)
    }

    /// What `/healthz` and `/metrics` show.
    public struct Status: Sendable, Equatable {
        /// True while the tailer is connected and applying.
        public var connected = false
        /// Why the backend is degraded (nil when healthy).
        public var degradedReason: String? = "not yet synchronized with Redis"
        /// Last stream id applied here.
        public var lastApplied: StreamID = .zero
        /// Last id in the stream when last asked (`XINFO STREAM` `last-generated-id`).
        public var lastInStream: StreamID = .zero
        /// When the tailer lost its connection.
        public var disconnectedSince: ContinuousClock.Instant?
        public var appliedBatches = 0
        public var writes = 0
        public var writeFailures = 0
        public var snapshotsWritten = 0
        public var snapshotsLoaded = 0
        public var streamLength = 0

        /// Age of the newest stream entry not applied here, in seconds (ids are server milliseconds).
        public var lagSeconds: Double {
            guard lastInStream > lastApplied else { return 0 }
            return Double(lastInStream.milliseconds - min(lastApplied.milliseconds, lastInStream.milliseconds)) / 1000
        }
    }

    /// The store searches read; only this backend writes to it.
    public let store: MemoryStore
    public let settings: RedisMemorySettings
    private let writer: RedisClient
    private let events: @Sendable (Event) -> Void
    private let state = Mutex(Status())
    /// Serializes applying batches to `store` (tailer, early apply by the writer, snapshot load).
    private let applyLock = Mutex(())
    private let durable = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wakeup = NSCondition()
    private let threadsDone = DispatchGroup()
    private let token = UUID().uuidString

    /// Creates the backend over an in-memory store. Nothing connects until ``start(initialSyncTimeout:)``.
    public init(settings: RedisMemorySettings, dimension: Int? = nil, events: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.settings = settings
        self.store = MemoryStore.inMemory(dimension: dimension)
        self.writer = RedisClient(settings.connection, name: "redis-writer")
        self.events = events
    }

    /// The current status (a copy).
    public var status: Status { state.withLock { $0 } }

    /// nil when healthy, else why the backend is degraded.
    public var degradedReason: String? { state.withLock { $0.degradedReason } }

    /// Starts tailing and snapshotting. Waits until the first synchronization (snapshot + stream) completed
    /// or `initialSyncTimeout` passed (then the host starts degraded and catches up when Redis answers).
    /// - Returns: true if synchronized.
    @discardableResult
    public func start(initialSyncTimeout: Duration) async -> Bool {
        let synced = DispatchSemaphore(value: 0)
        threadsDone.enter()
        let tailer = Thread { [self] in
            tail(signal: synced)
            threadsDone.leave()
        }
        tailer.name = "redis-tailer"
        tailer.start()
        threadsDone.enter()
        let snapshotter = Thread { [self] in
            snapshotLoop()
            threadsDone.leave()
        }
        snapshotter.name = "redis-snapshots"
        snapshotter.start()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let milliseconds = Int(RedisError.milliseconds(initialSyncTimeout))
                continuation.resume(returning: synced.wait(timeout: .now() + .milliseconds(milliseconds)) == .success)
            }
        }
    }

    /// Stops the threads (within about one ``RedisMemorySettings/blockTimeout``) and closes the connections.
    public func stop() async {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeThreads()
        writer.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            threadsDone.notify(queue: .global()) { continuation.resume() }
        }
    }

    private func wakeThreads() {
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
    }

    // MARK: - Writing

    public func write(_ entries: [MemoryEntry]) async throws -> MemoryWriteReceipt {
        let records = entries.map { LogRecord.upsert($0) }
        let payload = ReplicatedBatch.encode(records)
        var commands = [RedisCommand("XADD", arguments: [.text(settings.stream), "*", "b", .binary(payload)])]
        if settings.waitReplicas > 0 {
            commands.append(
                RedisCommand("WAIT", String(settings.waitReplicas), String(RedisError.milliseconds(settings.connection.commandTimeout))))
        }
        let replies: [RESPValue]
        do {
            replies = try await writer.pipeline(commands, timeout: settings.connection.commandTimeout * 2)
        } catch {
            state.withLock { $0.writeFailures += 1 }
            throw MemoryBackendUnavailable(reason: error.description)
        }
        guard case .bulk(let idBytes) = replies[0], let id = StreamID(String(decoding: idBytes, as: UTF8.self)) else {
            state.withLock { $0.writeFailures += 1 }
            let reply = replies[0]
            if case .error(let message) = reply { throw MemoryBackendUnavailable(reason: "Redis refused XADD: \(message)") }
            throw MemoryBackendUnavailable(reason: "unexpected reply to XADD: \(reply)")
        }
        if settings.waitReplicas > 0 {
            let reached = replies[1].integer ?? -1
            guard reached >= settings.waitReplicas else {
                state.withLock { $0.writeFailures += 1 }
                throw MemoryBackendUnavailable(
                    reason: "WAIT: \(max(0, reached)) of \(settings.waitReplicas) replicas acknowledged within the command timeout "
                        + "(the batch is in the primary's stream \(id) and may still propagate)")
            }
        }
        // Acknowledged: apply here unless the tailer already passed this id (then it applied it, in order).
        // On a Dispatch thread: the apply lock may be held for a while (a snapshot being loaded).
        let result: Result<Void, MemoryStoreError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                continuation.resume(
                    returning: Result { () throws(MemoryStoreError) in
                        try applyLock.withLock { _ throws(MemoryStoreError) in
                            if state.withLock({ $0.lastApplied }) < id { try apply(records) }
                        }
                    })
            }
        }
        try result.get()
        state.withLock { $0.writes += 1 }
        return MemoryWriteReceipt(storage: "redis", durable: settings.waitReplicas > 0 || durable.load(ordering: .relaxed))
    }

    // MARK: - Applying

    /// Applies records in order (called with `applyLock` held): runs of upserts as one batch, deletes by id.
    private func apply(_ records: [LogRecord]) throws(MemoryStoreError) {
        var upserts: [MemoryEntry] = []
        for record in records {
            switch record {
            case .upsert(let entry): upserts.append(entry)
            case .delete(let id):
                try store.upsert(upserts)
                upserts.removeAll()
                try store.delete(ids: [id])
            }
        }
        try store.upsert(upserts)
    }

    /// Applies stream entries `[id, [field, value, …]]` after `lastApplied`; returns how many.
    private func applyStreamEntries(_ entries: [RESPValue]) -> Int {
        var applied = 0
        applyLock.withLock { _ in
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let idText = parts[0].string, let id = StreamID(idText),
                    let fields = parts[1].array
                else {
                    events(.failure("skipped a malformed stream entry: \(entry)"))
                    continue
                }
                guard id > state.withLock({ $0.lastApplied }) else { continue }
                var index = 0
                while index + 1 < fields.count {
                    if fields[index].string == "b", let bytes = fields[index + 1].bytes {
                        do {
                            try apply(try ReplicatedBatch.decode(bytes))
                        } catch {
                            events(.failure("stream entry \(id) not applied: \(error)"))
                        }
                    }
                    index += 2
                }
                state.withLock { status in
                    status.lastApplied = id
                    status.appliedBatches += 1
                    if status.lastInStream < id { status.lastInStream = id }
                }
                applied += 1
            }
        }
        return applied
    }

    // MARK: - Tailing

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Sleeps up to `duration` unless stopping.
    private func pause(_ duration: Duration) {
        wakeup.lock()
        if !isStopping { _ = wakeup.wait(until: Date().addingTimeInterval(Double(RedisError.milliseconds(duration)) / 1000)) }
        wakeup.unlock()
    }

    private func tail(signal synced: DispatchSemaphore) {
        let link = ReconnectingConnection(settings.connection)
        var needsSync = true
        var signalled = false
        var lastInfo = ContinuousClock.now
        while !isStopping {
            do throws(RedisError) {
                if needsSync {
                    try synchronize(link)
                    needsSync = false
                    lastInfo = .now
                    if !signalled {
                        synced.signal()
                        signalled = true
                    }
                }
                let after = state.withLock { $0.lastApplied }
                let reply = try link.send(
                    RedisCommand(
                        "XREAD", "COUNT", "1000", "BLOCK", String(RedisError.milliseconds(settings.blockTimeout)), "STREAMS",
                        settings.stream, "\(after)"),
                    timeout: settings.blockTimeout + settings.connection.commandTimeout)
                if let streams = reply.array, let entries = streams.first?.array?[1].array, applyStreamEntries(entries) > 0 {
                    events(.applied(lastID: state.withLock { $0.lastApplied }))
                }
                if ContinuousClock.now - lastInfo > settings.blockTimeout {
                    try refreshStreamInfo(link)
                    lastInfo = .now
                }
            } catch {
                let reason = error.description
                let wasConnected = state.withLock { status in
                    let was = status.connected
                    status.connected = false
                    status.degradedReason = "Redis unreachable: \(reason)"
                    if status.disconnectedSince == nil { status.disconnectedSince = .now }
                    return was
                }
                if wasConnected { events(.disconnected(reason)) }
                needsSync = true
                if case .unavailable(_, let retryIn) = error {
                    pause(retryIn)
                } else if !error.isConnectionFailure {
                    events(.failure(reason))
                    pause(.seconds(1))
                }
            }
        }
        link.disconnect()
    }

    /// After (re)connecting: loads the snapshot if this host is behind a trim, reads the stream up to its end,
    /// and marks the backend healthy.
    private func synchronize(_ link: ReconnectingConnection) throws(RedisError) {
        let info = try streamInfo(link)
        let applied = state.withLock { $0.lastApplied }
        let trimmedPast = (info?.maxDeleted ?? .zero) > applied
        let manifest = try RedisSnapshots.manifest(settings, link)
        if let manifest, manifest.lastID > applied, trimmedPast || applied == .zero {
            try loadSnapshot(link)
        } else if trimmedPast {
            events(.failure("the stream was trimmed past \(applied) but no newer snapshot exists: catching up from what is left"))
        }
        // Catch up in pages until the stream's end.
        while !isStopping {
            let after = state.withLock { $0.lastApplied }
            let reply = try link.send(RedisCommand("XRANGE", settings.stream, "(\(after)", "+", "COUNT", "1000"),
                timeout: settings.connection.commandTimeout * 5)
            guard let entries = reply.array, !entries.isEmpty else { break }
            _ = applyStreamEntries(entries)
        }
        try refreshDurability(link)
        try refreshStreamInfo(link)
        // The tailer got through: the writer's next write connects at once. Queued before the status says
        // healthy, so a write made after that never meets the writer's remaining backoff.
        writer.retryNow()
        let status = state.withLock { status in
            status.connected = true
            status.degradedReason = nil
            status.disconnectedSince = nil
            return status
        }
        events(.connected)
        events(.caughtUp(appliedBatches: status.appliedBatches, lastID: status.lastApplied))
    }

    private func loadSnapshot(_ link: ReconnectingConnection) throws(RedisError) {
        let clock = ContinuousClock()
        let started = clock.now
        let loaded: (SnapshotManifest, [MemoryEntry])?
        do {
            loaded = try RedisSnapshots.load(settings, link)
        } catch let error as RedisError {
            throw error
        } catch {
            events(.failure("snapshot not loaded: \(error)"))
            return
        }
        guard let (manifest, entries) = loaded else { return }
        applyLock.withLock { _ in
            do {
                try store.replaceAll(with: entries)
                state.withLock { status in
                    status.lastApplied = manifest.lastID
                    status.snapshotsLoaded += 1
                }
            } catch {
                events(.failure("snapshot \(manifest.generation) not applied: \(error)"))
            }
        }
        let elapsed = started.duration(to: clock.now)
        events(.snapshotLoaded(entries: entries.count, lastID: manifest.lastID, seconds: Self.seconds(elapsed)))
    }

    private struct StreamInfo {
        var length: Int
        var lastGenerated: StreamID
        var maxDeleted: StreamID
    }

    /// `XINFO STREAM`; nil when the stream does not exist yet.
    private func streamInfo(_ link: ReconnectingConnection) throws(RedisError) -> StreamInfo? {
        let reply: RESPValue
        do {
            reply = try link.send(RedisCommand("XINFO", "STREAM", settings.stream))
        } catch .server(let message) where message.contains("no such key") {
            return nil
        }
        guard let fields = reply.array else { return nil }
        var info = StreamInfo(length: 0, lastGenerated: .zero, maxDeleted: .zero)
        var index = 0
        while index + 1 < fields.count {
            let value = fields[index + 1]
            switch fields[index].string {
            case "length": info.length = Int(value.integer ?? 0)
            case "last-generated-id": info.lastGenerated = value.string.flatMap(StreamID.init) ?? .zero
            case "max-deleted-entry-id": info.maxDeleted = value.string.flatMap(StreamID.init) ?? .zero
            default: break
            }
            index += 2
        }
        return info
    }

    private func refreshStreamInfo(_ link: ReconnectingConnection) throws(RedisError) {
        let info = try streamInfo(link)
        state.withLock { status in
            status.streamLength = info?.length ?? 0
            if let last = info?.lastGenerated, last > status.lastInStream { status.lastInStream = last }
        }
    }

    /// Whether an acknowledged `XADD` is on disk: AOF on with `appendfsync always`. `CONFIG` may be disabled
    /// (managed Redis): then acknowledged writes are reported as not durable.
    private func refreshDurability(_ link: ReconnectingConnection) throws(RedisError) {
        let replies = try link.pipeline([RedisCommand("CONFIG", "GET", "appendonly"), RedisCommand("CONFIG", "GET", "appendfsync")])
        let appendonly = replies[0].array?.last?.string
        let fsync = replies[1].array?.last?.string
        durable.store(appendonly == "yes" && fsync == "always", ordering: .relaxed)
    }

    // MARK: - Snapshots

    private func snapshotLoop() {
        let link = ReconnectingConnection(settings.connection)
        while !isStopping {
            pause(settings.snapshotInterval)
            guard !isStopping else { break }
            _ = try? snapshotIfDue(link)
        }
        link.disconnect()
    }

    /// Writes a snapshot if the stream is long enough and this host takes the lock; returns whether it wrote.
    @discardableResult
    public func snapshotIfDue(_ link: ReconnectingConnection? = nil, force: Bool = false) throws(RedisError) -> Bool {
        let link = link ?? ReconnectingConnection(settings.connection)
        let status = state.withLock { $0 }
        guard status.connected else { return false }
        let length = Int(try link.send(RedisCommand("XLEN", settings.stream)).integer ?? 0)
        guard force || length >= settings.snapshotMinEntries, length > 1 else { return false }
        guard try RedisSnapshots.lock(token: token, settings: settings, link: link) else { return false }
        defer { RedisSnapshots.unlock(token: token, settings: settings, link: link) }
        let clock = ContinuousClock()
        let started = clock.now
        // The state and its position, taken together.
        let (entries, lastID) = applyLock.withLock { _ in (store.entriesInIndexOrder(), state.withLock { $0.lastApplied }) }
        guard lastID > .zero else { return false }
        guard let (_, trimmed) = try RedisSnapshots.write(entries, lastID: lastID, token: token, settings: settings, link: link) else {
            events(.failure("snapshot abandoned: the lock expired while it was written (raise snapshot lock TTL)"))
            return false
        }
        state.withLock { $0.snapshotsWritten += 1 }
        events(.snapshotWritten(entries: entries.count, lastID: lastID, trimmed: trimmed, seconds: Self.seconds(started.duration(to: clock.now))))
        return true
    }

    /// `duration` in seconds.
    public static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
