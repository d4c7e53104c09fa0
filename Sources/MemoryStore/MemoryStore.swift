public import Foundation
import Dispatch
import Synchronization

/// Durable, searchable memory entries: an ``AppendOnlyLog`` on disk plus an in-memory inverted index (BM25),
/// tag index and vector slab (cosine), shared by the search, compression and streaming plugins.
///
/// **Concurrency.** Two `Mutex`es (Synchronization), always taken in this order:
/// - the *writer* lock serializes mutations (validate → append to the log → fsync → apply to the index), so
///   the index always applies writes in log order, and slow disk I/O never blocks readers;
/// - the *state* lock guards the index and is held only for O(1) reads (``get(id:)``, ``count``, taking a
///   snapshot) and for applying an already-durable batch.
///
/// A plain mutex rather than a reader-writer lock, because readers do no work under it: searches and scans
/// run on a ``SearchSnapshot``, an immutable copy-on-write view taken in O(1), outside any lock. Concurrent
/// readers therefore scale with cores; a reader-writer lock would only add cost to these tiny critical
/// sections. A write while a snapshot is alive copies the structures it touches (blocked per 4,096 documents,
/// so usually one block plus the touched postings lists), never the whole corpus's entries.
///
/// **Durability.** ``upsert(_:)`` and ``delete(ids:)`` return after the records are written and synced per the
/// ``FsyncPolicy``; an entry becomes visible to readers only once durable. A batch is validated as a whole
/// (nothing is written if any entry is invalid); after a crash an unacknowledged batch may survive as a
/// prefix of whole records.
///
/// **Recovery.** Opening never deletes what it cannot prove torn (see ``AppendOnlyLog``): damage other than
/// a torn last record throws `.corrupt` and changes nothing; ``repair(directory:)`` salvages.
///
/// **Compaction.** The store knows how many bytes of its log are dead (superseded or deleted records). When
/// the ``CompactionPolicy`` says so, a background thread rewrites the log (``LogCompaction``): the live
/// entries as of a snapshot, then the records appended meanwhile, then — holding the writer lock only for
/// that — the last appends, fsync, rename and directory fsync. ``onCompaction(_:)`` and
/// ``compactionStatistics`` report it.
public final class MemoryStore: Sendable {
    /// The log's file name inside the store directory.
    public static let logFileName = "memories.log"
    /// Longest accepted id, in UTF-8 bytes.
    public static let maxIDBytes = 1024

    private struct WriterState {
        var dimension: Int?
        var closed = false
        /// Size in the log of each live entry's latest upsert record.
        var recordBytes: [String: Int] = [:]
        /// Sum of `recordBytes`: everything else after the header is dead.
        var liveBytes = 0
        /// A background compaction is scheduled or running.
        var compacting = false
        /// Why compaction cannot run (the log holds records of a newer build).
        var compactionBlocked: String?

        /// Accounts for records just appended (or replayed) with their sizes in the log.
        mutating func account(_ records: [(LogRecord, Int)]) {
            for (record, size) in records {
                switch record {
                case .upsert(let entry):
                    liveBytes += size - (recordBytes.updateValue(size, forKey: entry.id) ?? 0)
                case .delete(let id):
                    liveBytes -= recordBytes.removeValue(forKey: id) ?? 0
                }
            }
        }
    }

    private struct State {
        var index: IndexState
        var docOf: [String: Int]
        var version: UInt64 = 0
        var cached: SearchSnapshot?
    }

    /// The directory holding the log, or nil for an in-memory store.
    public let directory: String?
    /// When background compaction runs.
    public let compactionPolicy: CompactionPolicy
    private let log: AppendOnlyLog?
    private let tokenizer: Tokenizer
    private let writer: Mutex<WriterState>
    private let state: Mutex<State>
    /// Serializes compactions (held for a whole compaction; writers never take it). Order: before `writer`.
    private let compactionLock = Mutex(())
    private let statistics = Mutex(CompactionStatistics())
    private let observers = Mutex<[@Sendable (CompactionEvent) -> Void]>([])
    /// Tests: called at each ``CompactionStep``; throwing there simulates a crash at that step.
    let compactionFaultHook = Mutex<(@Sendable (CompactionStep) throws(MemoryStoreError) -> Void)?>(nil)

    private init(
        directory: String?, log: AppendOnlyLog?, writer: WriterState, index: IndexState, docOf: [String: Int],
        compaction: CompactionPolicy
    ) {
        self.directory = directory
        self.log = log
        self.compactionPolicy = compaction
        self.tokenizer = .standard
        self.writer = Mutex(writer)
        self.state = Mutex(State(index: index, docOf: docOf))
    }

    // MARK: - Opening

    /// Opens (or creates) the store in `directory` (created if missing), replaying its log.
    ///
    /// - Parameters:
    ///   - dimension: the fixed embedding dimension; entries whose embedding has another length are
    ///     rejected. `nil` lets the first embedding (in the log, or written later) fix it.
    ///   - fsync: when appends reach stable storage (default ``FsyncPolicy/always``).
    ///   - compaction: when the log is compacted in the background (default ``CompactionPolicy/default``).
    /// - Returns: the store and what the open found, including a torn tail it truncated.
    /// - Throws: ``MemoryStoreError``: `.corrupt` for damage other than a torn tail (nothing is changed; see
    ///   ``repair(directory:)``), `.newerFormat`, `.locked` if the store is open elsewhere, `.notAStoreFile`,
    ///   `.dimensionMismatch` if a logged embedding contradicts `dimension`, `.io`.
    public static func open(
        directory: String, dimension: Int? = nil, fsync: FsyncPolicy = .always, compaction: CompactionPolicy = .default
    ) throws(MemoryStoreError) -> (MemoryStore, OpenReport) {
        try open(directory: directory, dimension: dimension, fsync: fsync, compaction: compaction, fileSystem: POSIXFileSystem())
    }

    /// ``open(directory:dimension:fsync:compaction:)`` on any file system (tests use a simulated disk).
    static func open(
        directory: String, dimension: Int? = nil, fsync: FsyncPolicy = .always, compaction: CompactionPolicy = .default,
        fileSystem: any LogFileSystem
    ) throws(MemoryStoreError) -> (MemoryStore, OpenReport) {
        if let dimension, dimension <= 0 {
            throw MemoryStoreError(.invalidEntry, "dimension must be > 0, got \(dimension)")
        }
        try fileSystem.createDirectory(directory)
        let path = logPath(in: directory)
        var latest: [String: (sequence: Int, entry: MemoryEntry)] = [:]
        var sequence = 0
        var writer = WriterState(dimension: dimension)
        let log: AppendOnlyLog
        var report: OpenReport
        do {
            (log, report) = try AppendOnlyLog.open(path: path, fsync: fsync, fileSystem: fileSystem) { record, size in
                switch record {
                case .upsert(let entry):
                    if let embedding = entry.embedding {
                        if let fixed = writer.dimension, fixed != embedding.count {
                            throw MemoryStoreError(
                                .dimensionMismatch,
                                "\(path): entry \"\(entry.id)\" has a \(embedding.count)-value embedding, expected \(fixed)")
                        }
                        writer.dimension = embedding.count
                    }
                    latest[entry.id] = (sequence, entry)
                    sequence += 1
                case .delete(let id):
                    latest[id] = nil
                }
                writer.account([(record, size)])
            }
        } catch let error as MemoryStoreError {
            throw error
        } catch {
            throw MemoryStoreError(.io, "\(path): \(error)")
        }
        if report.newerRecordsSkipped > 0 {
            writer.compactionBlocked =
                "the log holds \(report.newerRecordsSkipped) record(s) written by a newer build, which compaction would drop"
        }
        let entries = latest.values.sorted { $0.sequence < $1.sequence }.map(\.entry)
        let index = IndexState.build(entries, dimension: writer.dimension, tokenizer: .standard)
        var docOf: [String: Int] = [:]
        docOf.reserveCapacity(entries.count)
        for (doc, entry) in entries.enumerated() { docOf[entry.id] = doc }
        report.entriesLoaded = entries.count
        let store = MemoryStore(
            directory: directory, log: log, writer: writer, index: index, docOf: docOf, compaction: compaction)
        store.updateLogStatistics()
        store.writer.withLock { store.scheduleCompactionIfDue(&$0) }
        return (store, report)
    }

    /// The log file's path for a store in `directory`.
    public static func logPath(in directory: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + logFileName
    }

    /// ``open(directory:dimension:fsync:)`` with a file URL.
    public static func open(directory: URL, dimension: Int? = nil, fsync: FsyncPolicy = .always) throws(
        MemoryStoreError
    ) -> (MemoryStore, OpenReport) {
        try open(directory: directory.path, dimension: dimension, fsync: fsync)
    }

    /// A store without disk (tests, the host's embedded default); same API, nothing persists.
    public static func inMemory(dimension: Int? = nil) -> MemoryStore {
        MemoryStore(
            directory: nil, log: nil, writer: WriterState(dimension: dimension), index: IndexState(dimension: dimension),
            docOf: [:], compaction: .disabled)
    }

    /// Salvages a damaged log in `directory` (see ``LogRepair``). The store must not be open.
    public static func repair(directory: String) throws(MemoryStoreError) -> RepairReport {
        try LogRepair.repair(path: logPath(in: directory), fileSystem: POSIXFileSystem())
    }

    // MARK: - Writing

    /// Adds entries, replacing any with the same id (within a batch, the last one wins). Durable per the
    /// fsync policy before returning, then visible to readers.
    /// - Throws: ``MemoryStoreError``: `.invalidEntry` (empty or over-long id, empty tag, non-finite or zero
    ///   embedding), `.dimensionMismatch`, `.closed`, `.failed`, `.io`. Nothing is written on a validation error.
    public func upsert(_ entries: [MemoryEntry]) throws(MemoryStoreError) {
        guard !entries.isEmpty else { return }
        try writer.withLock { writer throws(MemoryStoreError) in
            try checkOpen(writer)
            let dimension = try Self.validate(entries, dimension: writer.dimension)
            let records = entries.map { LogRecord.upsert($0) }
            if let log {
                let sizes = try log.append(records)
                writer.account(Array(zip(records, sizes)))
            }
            writer.dimension = dimension

            // Last occurrence of each id wins; tokenize outside the state lock.
            var lastPosition: [String: Int] = [:]
            for (position, entry) in entries.enumerated() { lastPosition[entry.id] = position }
            let batch = entries.enumerated().filter { lastPosition[$0.element.id] == $0.offset }.map(\.element)
            let newTerms = batch.map { tokenizer.terms($0.text) }
            let replaced = state.withLock { state in
                batch.compactMap { entry in state.docOf[entry.id].flatMap { doc in state.index.entries[doc].map { (doc, $0) } } }
            }
            let replacedTerms = replaced.map { tokenizer.terms($0.1.text) }
            state.withLock { state in
                state.cached = nil
                for (position, (doc, _)) in replaced.enumerated() {
                    state.index.remove(doc, terms: replacedTerms[position])
                }
                for (position, entry) in batch.enumerated() {
                    state.docOf[entry.id] = state.index.add(entry, terms: newTerms[position])
                }
                state.version += 1
            }
            rebuildIfSparse()
            afterWrite(&writer)
        }
    }

    /// Adds or replaces one entry (see ``upsert(_:)-(_:[MemoryEntry])``).
    public func upsert(_ entry: MemoryEntry) throws(MemoryStoreError) {
        try upsert([entry])
    }

    /// Deletes the entries with these ids; unknown ids are ignored (and not logged).
    /// - Returns: how many entries were deleted.
    @discardableResult
    public func delete(ids: [String]) throws(MemoryStoreError) -> Int {
        try writer.withLock { writer throws(MemoryStoreError) -> Int in
            try checkOpen(writer)
            let present = state.withLock { state in
                var seen: Set<String> = []
                return ids.compactMap { id -> (String, Int, MemoryEntry)? in
                    guard seen.insert(id).inserted, let doc = state.docOf[id], let entry = state.index.entries[doc] else {
                        return nil
                    }
                    return (id, doc, entry)
                }
            }
            guard !present.isEmpty else { return 0 }
            let records = present.map { LogRecord.delete(id: $0.0) }
            if let log {
                let sizes = try log.append(records)
                writer.account(Array(zip(records, sizes)))
            }
            let terms = present.map { tokenizer.terms($0.2.text) }
            state.withLock { state in
                state.cached = nil
                for (position, (id, doc, _)) in present.enumerated() {
                    state.index.remove(doc, terms: terms[position])
                    state.docOf[id] = nil
                }
                state.version += 1
            }
            rebuildIfSparse()
            afterWrite(&writer)
            return present.count
        }
    }

    /// Rewrites the log with only the live entries (see ``LogCompaction``: temp file, fsync, atomic rename,
    /// directory fsync) — what the background compaction does, run now on the caller's thread. Writers are
    /// blocked only for the final step; readers never. Waits for a background compaction that is running.
    /// A no-op for an in-memory store (the index compacts itself as it goes).
    /// - Throws: ``MemoryStoreError`` `.newerFormat` while the log holds records of a newer build, `.closed`,
    ///   `.io`, `.failed`.
    @discardableResult
    public func compact() throws(MemoryStoreError) -> CompactionReport {
        try performCompaction()
    }

    /// Calls `observer` (on the compaction's thread) when a background compaction starts, completes or fails.
    public func onCompaction(_ observer: @escaping @Sendable (CompactionEvent) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Compaction counters and the log's current live / dead bytes.
    public var compactionStatistics: CompactionStatistics {
        updateLogStatistics()
        return statistics.withLock { $0 }
    }

    /// The fsync policy of the log (nil for an in-memory store).
    public var fsyncPolicy: FsyncPolicy? { log?.fsyncPolicy }

    /// Syncs and closes the log. Reads keep working on the in-memory state; writes throw `.closed`.
    public func close() throws(MemoryStoreError) {
        try writer.withLock { writer throws(MemoryStoreError) in
            guard !writer.closed else { return }
            writer.closed = true
            try log?.close()
        }
    }

    /// Replaces the whole content of an **in-memory** store with `entries` (the last entry with an id wins), built
    /// in one pass rather than entry by entry: how a replica loads a snapshot (``ReplicatedBatch``), at start-up
    /// or after it fell behind a trimmed stream. Readers see the old content until the new one is installed.
    /// - Throws: ``MemoryStoreError`` `.failed` for a store with a log (its log is the truth), `.closed`,
    ///   `.invalidEntry` / `.dimensionMismatch` as ``upsert(_:)-(_:[MemoryEntry])`` (nothing changes then).
    public func replaceAll(with entries: [MemoryEntry]) throws(MemoryStoreError) {
        try writer.withLock { writer throws(MemoryStoreError) in
            try checkOpen(writer)
            guard log == nil else {
                throw MemoryStoreError(.failed, "replaceAll is only for in-memory stores; \(directory ?? "") has a log")
            }
            let dimension = try Self.validate(entries, dimension: writer.dimension)
            var position: [String: Int] = [:]
            position.reserveCapacity(entries.count)
            for (index, entry) in entries.enumerated() { position[entry.id] = index }
            let unique = position.count == entries.count
                ? entries : entries.enumerated().filter { position[$0.element.id] == $0.offset }.map(\.element)
            writer.dimension = dimension
            install(IndexState.build(unique, dimension: dimension, tokenizer: tokenizer), entries: unique)
        }
    }

    // MARK: - Reading

    /// The entry with this id, if any.
    public func get(id: String) -> MemoryEntry? {
        state.withLock { state in state.docOf[id].flatMap { state.index.entries[$0] } }
    }

    /// Number of live entries.
    public var count: Int { state.withLock { $0.index.liveCount } }

    /// The embedding dimension, once fixed.
    public var dimension: Int? { writer.withLock { $0.dimension } }

    /// Size of the log file in bytes (nil for an in-memory store).
    public var logSize: Int? { log?.size }

    /// All entries ordered by `createdAt`, then `id` (see ``SearchSnapshot/entries()``).
    public func allEntries() -> [MemoryEntry] {
        searchSnapshot().entries()
    }

    /// Every live entry in the index's internal order (the order of their latest writes, which decides ties
    /// in search results). A replica's snapshot keeps this order, so a host that loads it ranks ties exactly
    /// as the host that wrote it (see ``replaceAll(with:)``).
    public func entriesInIndexOrder() -> [MemoryEntry] {
        state.withLock { $0.index }.liveEntries
    }

    /// An immutable view for searching and scanning; O(1), cached until the next write.
    public func searchSnapshot() -> SearchSnapshot {
        state.withLock { state in
            if let cached = state.cached { return cached }
            let snapshot = SearchSnapshot(index: state.index, tokenizer: tokenizer, version: state.version)
            state.cached = snapshot
            return snapshot
        }
    }

    /// ``SearchSnapshot/search(query:limit:tags:since:embedding:)`` on a fresh snapshot.
    public func search(
        query: String, limit: Int = 10, tags: [String] = [], since: Date? = nil, embedding: [Float]? = nil
    ) throws(MemoryStoreError) -> [ScoredEntry] {
        try searchSnapshot().search(query: query, limit: limit, tags: tags, since: since, embedding: embedding)
    }

    // MARK: - Compaction internals

    /// Called with the writer lock held after every write: schedules a background compaction when due.
    private func afterWrite(_ writer: inout WriterState) {
        scheduleCompactionIfDue(&writer)
    }

    private func scheduleCompactionIfDue(_ writer: inout WriterState) {
        guard let log, !writer.compacting, !writer.closed, writer.compactionBlocked == nil else { return }
        let size = log.size
        let dead = size - AppendOnlyLog.headerSize - writer.liveBytes
        guard compactionPolicy.shouldCompact(logBytes: size, deadBytes: dead) else { return }
        writer.compacting = true
        DispatchQueue.global(qos: .utility).async { [self] in
            notify(.started(logBytes: size, deadBytes: dead))
            do throws(MemoryStoreError) {
                let report = try performCompaction()
                notify(.completed(report))
            } catch where error.code == .closed {
                // Closed meanwhile (shutdown): the old log stays, nothing to report.
            } catch {
                notify(.failed(error))
            }
            self.writer.withLock { $0.compacting = false }
        }
    }

    private func notify(_ event: CompactionEvent) {
        for observer in observers.withLock({ $0 }) { observer(event) }
    }

    private func updateLogStatistics() {
        let (logBytes, live) = writer.withLock { writer in (log?.size ?? 0, writer.liveBytes) }
        statistics.withLock { statistics in
            statistics.logBytes = logBytes
            statistics.deadBytes = log == nil ? 0 : max(0, logBytes - AppendOnlyLog.headerSize - live)
        }
    }

    /// One compaction (``LogCompaction``'s three phases), serialized with any other.
    private func performCompaction() throws(MemoryStoreError) -> CompactionReport {
        try compactionLock.withLock { _ throws(MemoryStoreError) -> CompactionReport in
            let clock = ContinuousClock()
            let started = clock.now
            statistics.withLock { $0.running = true }
            defer { statistics.withLock { $0.running = false } }
            do throws(MemoryStoreError) {
                let report = try compactLog(clock: clock, started: started)
                statistics.withLock { statistics in
                    statistics.completed += 1
                    statistics.bytesReclaimed += max(0, report.bytesBefore - report.bytesAfter)
                    statistics.last = report
                }
                updateLogStatistics()
                return report
            } catch {
                if error.code != .closed { statistics.withLock { $0.failed += 1 } }
                throw error
            }
        }
    }

    private func compactLog(clock: ContinuousClock, started: ContinuousClock.Instant) throws(MemoryStoreError)
        -> CompactionReport
    {
        // Phase 1 (writer lock): the index as of the log's current end.
        let begun = try writer.withLock { writer throws(MemoryStoreError) -> (LogCompaction, IndexState, Int)? in
            try checkOpen(writer)
            if let blocked = writer.compactionBlocked {
                throw MemoryStoreError(.newerFormat, "compaction is disabled: \(blocked)")
            }
            guard let log else { return nil }
            return (try LogCompaction(log), state.withLock { $0.index }, log.size)
        }
        guard let (compaction, snapshot, before) = begun else {
            return CompactionReport(entries: count, bytesBefore: 0, bytesAfter: 0)
        }
        // Phase 2 (no lock): live entries, then what writers appended meanwhile.
        let live = snapshot.liveEntries
        try compaction.write(live.lazy.map { LogRecord.upsert($0) })
        let hook = compactionFaultHook.withLock { $0 }
        try hook?(.liveRecordsWritten)
        // Each round copies what was appended during the previous one (the first round's fsync of the whole
        // temp file is the long one), until little is left for the final, blocking step.
        try compaction.catchUp()
        var rounds = 0
        while let log, log.size - compaction.copiedUpTo > 64 << 10, rounds < 8 {
            try compaction.catchUp()
            rounds += 1
        }
        // Phase 3 (writer lock): the last appends, rename, directory fsync.
        let copiedBeforePause = compaction.copiedUpTo
        let pauseStarted = clock.now
        let after = try writer.withLock { writer throws(MemoryStoreError) -> Int in
            try checkOpen(writer)
            return try compaction.finish { step throws(MemoryStoreError) in try hook?(step) }
        }
        var report = CompactionReport(entries: live.count, bytesBefore: before, bytesAfter: after)
        report.pause = pauseStarted.duration(to: clock.now)
        report.duration = started.duration(to: clock.now)
        report.bytesCopiedFromTail = compaction.copiedUpTo - before
        report.bytesCopiedDuringPause = compaction.copiedUpTo - copiedBeforePause
        return report
    }

    // MARK: - Internals

    private func checkOpen(_ writer: WriterState) throws(MemoryStoreError) {
        if writer.closed { throw MemoryStoreError(.closed, "the store at \(directory ?? "memory") is closed") }
    }

    /// Validates a batch; returns the dimension after it (fixed by its first embedding if still unknown).
    static func validate(_ entries: [MemoryEntry], dimension: Int?) throws(MemoryStoreError) -> Int? {
        var dimension = dimension
        for (position, entry) in entries.enumerated() {
            let at = "entries[\(position)] (id \"\(entry.id.prefix(64))\")"
            guard !entry.id.isEmpty else { throw MemoryStoreError(.invalidEntry, "entries[\(position)]: id is empty") }
            guard entry.id.utf8.count <= maxIDBytes else {
                throw MemoryStoreError(.invalidEntry, "\(at): id is longer than \(maxIDBytes) bytes")
            }
            if let empty = entry.tags.firstIndex(where: \.isEmpty) {
                throw MemoryStoreError(.invalidEntry, "\(at): tags[\(empty)] is empty")
            }
            guard let embedding = entry.embedding else { continue }
            if let expected = dimension, embedding.count != expected {
                throw MemoryStoreError(
                    .dimensionMismatch, "\(at): embedding has \(embedding.count) values, the store's dimension is \(expected)")
            }
            guard !embedding.isEmpty else { throw MemoryStoreError(.invalidEntry, "\(at): embedding is empty") }
            guard embedding.allSatisfy(\.isFinite) else {
                throw MemoryStoreError(.invalidEntry, "\(at): embedding contains NaN or infinity")
            }
            guard VectorSlab.norm(embedding) > 0 else {
                throw MemoryStoreError(.invalidEntry, "\(at): embedding is all zeros (cosine is undefined)")
            }
            dimension = embedding.count
        }
        return dimension
    }

    /// Rebuilds the index densely once dead slots outnumber live ones (called with the writer lock held).
    private func rebuildIfSparse() {
        // Decide without copying the index out: a copy alive during the next write would make that write
        // copy every array (copy-on-write).
        let sparse = state.withLock { $0.index.deadCount > max(4096, $0.index.liveCount) }
        guard sparse else { return }
        let current = state.withLock { $0.index }
        let live = current.liveEntries
        install(IndexState.build(live, dimension: current.vectors.dimension, tokenizer: tokenizer), entries: live)
    }

    private func install(_ index: IndexState, entries: [MemoryEntry]) {
        var docOf: [String: Int] = [:]
        docOf.reserveCapacity(entries.count)
        for (doc, entry) in entries.enumerated() { docOf[entry.id] = doc }
        state.withLock { state in
            state.cached = nil
            state.index = index
            state.docOf = docOf
            state.version += 1
        }
    }
}


