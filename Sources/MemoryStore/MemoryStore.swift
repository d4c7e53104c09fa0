public import Foundation
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
public final class MemoryStore: Sendable {
    /// The log's file name inside the store directory.
    public static let logFileName = "memories.log"
    /// Longest accepted id, in UTF-8 bytes.
    public static let maxIDBytes = 1024

    private struct WriterState {
        var dimension: Int?
        var closed = false
    }

    private struct State {
        var index: IndexState
        var docOf: [String: Int]
        var version: UInt64 = 0
        var cached: SearchSnapshot?
    }

    /// The directory holding the log, or nil for an in-memory store.
    public let directory: String?
    private let log: AppendOnlyLog?
    private let tokenizer: Tokenizer
    private let writer: Mutex<WriterState>
    private let state: Mutex<State>

    private init(directory: String?, log: AppendOnlyLog?, dimension: Int?, index: IndexState, docOf: [String: Int]) {
        self.directory = directory
        self.log = log
        self.tokenizer = .standard
        self.writer = Mutex(WriterState(dimension: dimension))
        self.state = Mutex(State(index: index, docOf: docOf))
    }

    // MARK: - Opening

    /// Opens (or creates) the store in `directory` (created if missing), replaying its log.
    ///
    /// - Parameters:
    ///   - dimension: the fixed embedding dimension; entries whose embedding has another length are
    ///     rejected. `nil` lets the first embedding (in the log, or written later) fix it.
    ///   - fsync: when appends reach stable storage (default ``FsyncPolicy/always``).
    /// - Returns: the store and what the open found, including any torn or corrupt tail it truncated.
    /// - Throws: ``MemoryStoreError``: `.locked` if the store is open elsewhere, `.notAStoreFile`,
    ///   `.dimensionMismatch` if a logged embedding contradicts `dimension`, `.io`.
    public static func open(directory: String, dimension: Int? = nil, fsync: FsyncPolicy = .always) throws(
        MemoryStoreError
    ) -> (MemoryStore, OpenReport) {
        if let dimension, dimension <= 0 {
            throw MemoryStoreError(.invalidEntry, "dimension must be > 0, got \(dimension)")
        }
        try FileIO.createDirectory(directory)
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + logFileName
        var latest: [String: (sequence: Int, entry: MemoryEntry)] = [:]
        var sequence = 0
        var fixedDimension = dimension
        let log: AppendOnlyLog
        var report: OpenReport
        do {
            (log, report) = try AppendOnlyLog.open(path: path, fsync: fsync) { record in
                switch record {
                case .upsert(let entry):
                    if let embedding = entry.embedding {
                        if let fixed = fixedDimension, fixed != embedding.count {
                            throw MemoryStoreError(
                                .dimensionMismatch,
                                "\(path): entry \"\(entry.id)\" has a \(embedding.count)-value embedding, expected \(fixed)")
                        }
                        fixedDimension = embedding.count
                    }
                    latest[entry.id] = (sequence, entry)
                    sequence += 1
                case .delete(let id):
                    latest[id] = nil
                }
            }
        } catch let error as MemoryStoreError {
            throw error
        } catch {
            throw MemoryStoreError(.io, "\(path): \(error)")
        }
        let entries = latest.values.sorted { $0.sequence < $1.sequence }.map(\.entry)
        let index = IndexState.build(entries, dimension: fixedDimension, tokenizer: .standard)
        var docOf: [String: Int] = [:]
        docOf.reserveCapacity(entries.count)
        for (doc, entry) in entries.enumerated() { docOf[entry.id] = doc }
        report.entriesLoaded = entries.count
        let store = MemoryStore(directory: directory, log: log, dimension: fixedDimension, index: index, docOf: docOf)
        return (store, report)
    }

    /// ``open(directory:dimension:fsync:)`` with a file URL.
    public static func open(directory: URL, dimension: Int? = nil, fsync: FsyncPolicy = .always) throws(
        MemoryStoreError
    ) -> (MemoryStore, OpenReport) {
        try open(directory: directory.path, dimension: dimension, fsync: fsync)
    }

    /// A store without disk (tests, the host's embedded default); same API, nothing persists.
    public static func inMemory(dimension: Int? = nil) -> MemoryStore {
        MemoryStore(directory: nil, log: nil, dimension: dimension, index: IndexState(dimension: dimension), docOf: [:])
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
            try log?.append(entries.map { .upsert($0) })
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
            try log?.append(present.map { .delete(id: $0.0) })
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
            return present.count
        }
    }

    /// Rewrites the log with only the live entries (temp file, fsync, atomic rename, directory fsync) and
    /// rebuilds the index densely. For an in-memory store, only the index is rebuilt.
    @discardableResult
    public func compact() throws(MemoryStoreError) -> CompactionReport {
        try writer.withLock { writer throws(MemoryStoreError) -> CompactionReport in
            try checkOpen(writer)
            let current = state.withLock { $0.index }
            let live = current.liveEntries
            let before = log?.size ?? 0
            let after = try log?.rewrite(live.lazy.map { LogRecord.upsert($0) }) ?? 0
            install(IndexState.build(live, dimension: writer.dimension, tokenizer: tokenizer), entries: live)
            return CompactionReport(entries: live.count, bytesBefore: before, bytesAfter: after)
        }
    }

    /// Syncs and closes the log. Reads keep working on the in-memory state; writes throw `.closed`.
    public func close() throws(MemoryStoreError) {
        try writer.withLock { writer throws(MemoryStoreError) in
            guard !writer.closed else { return }
            writer.closed = true
            try log?.close()
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

/// What ``MemoryStore/compact()`` did.
public struct CompactionReport: Sendable, Equatable {
    /// Live entries written.
    public var entries: Int
    /// Log size before (0 for an in-memory store).
    public var bytesBefore: Int
    /// Log size after (0 for an in-memory store).
    public var bytesAfter: Int
}
