import Foundation
public import RouterCore
import Dispatch
import MemoryStore

/// `memory_index`: adds or replaces memories in the shared ``MemoryStore``, durably (DESIGN §8).
///
/// Request `data`: `{"entries": [{"id", "text", "tags"?, "createdAt"?, "embedding"?}]}`, at most
/// ``SearchOptions/maxIndexBatch`` entries (more is `payload_too_large`, naming the limit). An entry whose
/// `id` exists replaces it; within a batch the last entry with an id wins.
///
/// Stages `validating` → `writing` (weights 1, 4). Every entry is validated before anything is written, and
/// the first problem is a `bad_request` naming the entry and field (`data.entries[3].text: must not be
/// empty`), so a rejected batch writes nothing. `createdAt` is ISO 8601 (see ``MemorySearchHandler``'s
/// `since`) and defaults to now; `embedding` must have the store's dimension (or, on a store without
/// embeddings yet, the batch's first embedding's).
///
/// `index_complete` is `{"indexed": N, "storage": "disk" | "memory" | "redis", "durable": Bool}`: `storage` says
/// whether the store is in memory only (no data directory) or shared through Redis, `durable` whether the entries
/// were on stable storage before the answer. With a shared backend registered (``MemoryWriter``), the batch goes
/// through it instead of the local log; when it is away the request fails with `memory store unavailable: …`.
///
/// The batch is written as one ``MemoryStore/upsert(_:)-(_:[MemoryEntry])`` (one fsync under the default
/// policy) on a Dispatch thread, so the blocking write never occupies a cooperative-pool thread; the
/// response `{"indexed": N}` (`index_complete`) is sent only after it returned, i.e. after the entries are
/// on disk. A write cannot be undone halfway: a cancel (or timeout) that arrives while it runs ends the
/// request with `cancelled`, but the entries may nevertheless be stored — upserts are idempotent, so a
/// client may simply retry.
public struct MemoryIndexHandler: OperationHandler {
    /// One entry of the request.
    public struct Entry: Decodable, Sendable, Equatable {
        public var id: String
        public var text: String
        public var tags: [String]?
        public var createdAt: String?
        public var embedding: [Float]?

        public init(id: String, text: String, tags: [String]? = nil, createdAt: String? = nil, embedding: [Float]? = nil) {
            self.id = id
            self.text = text
            self.tags = tags
            self.createdAt = createdAt
            self.embedding = embedding
        }
    }

    /// The request's `data`.
    public struct Request: Decodable, Sendable, Equatable {
        public var entries: [Entry]

        public init(entries: [Entry]) { self.entries = entries }
    }

    /// The fields of `index_complete`.
    public struct Response: Encodable, Sendable, Equatable {
        /// Entries written (the batch's size, duplicates included).
        public var indexed: Int
        /// `"disk"` (a data directory) or `"memory"` (no data directory: nothing survives the host's exit).
        public var storage: String
        /// True when the entries were on stable storage (fsynced) before this answer: a store on disk with the
        /// `always` fsync policy. False in memory, and under `interval` / `never` (then they reach the disk
        /// within the interval, or at the next sync / close).
        public var durable: Bool
    }

    public static let messageType = "memory_index"
    public static let eventPrefix = "index"
    public static let timeout: Duration = .seconds(60)
    public static let stages = [ProgressStage("validating", weight: 1), ProgressStage("writing", weight: 4)]
    public static let requiredServices = [ServiceKey(MemoryStore.self)]  // the host registers it

    public let options: SearchOptions

    /// A handler with the plugin's options (batch limit).
    /// Checked before the request runs (`payload_too_large`): entries per batch (``SearchOptions/maxIndexBatch``)
    /// and the size of each entry.
    public var inputLimits: InputLimits {
        [
            .maxItems("entries", options.maxIndexBatch, name: "maxIndexBatch"),
            .maxBytes("entries[].text", 1 << 20, name: "maxEntryTextBytes"),
            .maxItems("entries[].tags", 64, name: "maxTags"),
            .maxItems("entries[].embedding", 4096, name: "maxEmbeddingDimension"),
        ]
    }

    public init(options: SearchOptions = SearchOptions()) {
        self.options = options
    }

    public func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let store = try context.services.require(MemoryStore.self)
        guard request.entries.count <= options.maxIndexBatch else {
            throw OperationError.payloadTooLarge(
                "data.entries: \(request.entries.count) entries exceed the limit of \(options.maxIndexBatch) per memory_index request")
        }
        context.advance(to: "validating")
        let now = Date()
        var dimension = store.dimension
        var entries: [MemoryEntry] = []
        entries.reserveCapacity(request.entries.count)
        for (position, entry) in request.entries.enumerated() {
            entries.append(try Self.validate(entry, at: "data.entries[\(position)]", dimension: &dimension, now: now))
        }
        try Task.checkCancellation()

        context.advance(to: "writing")
        if let backend = context.services.get((any MemoryWriter).self) {
            return try await Self.write(entries, through: backend, context: context)
        }
        do {
            try await Self.write(entries, to: store)
        } catch let error where error.code == .invalidEntry || error.code == .dimensionMismatch {
            // Validated above; a concurrent writer may have fixed the store's dimension meanwhile.
            throw OperationError.badRequest(path: "data.entries", error.message)
        } catch {
            context.logger.error("memory_index write failed", metadata: ["error": error.description])
            throw IndexWriteFailure()
        }
        context.progress("writing", 1)
        return Response(
            indexed: entries.count, storage: store.directory == nil ? "memory" : "disk",
            durable: store.fsyncPolicy == .always)
    }

    /// Checks one entry and converts it; `dimension` is fixed by the first embedding if still unknown.
    static func validate(_ entry: Entry, at path: String, dimension: inout Int?, now: Date) throws(OperationError) -> MemoryEntry {
        guard !entry.id.isEmpty else { throw .badRequest(path: "\(path).id", "must not be empty") }
        guard entry.id.utf8.count <= MemoryStore.maxIDBytes else {
            throw .badRequest(path: "\(path).id", "must be at most \(MemoryStore.maxIDBytes) bytes")
        }
        guard entry.text.contains(where: { !$0.isWhitespace }) else {
            throw .badRequest(path: "\(path).text", "must not be empty")
        }
        let tags = entry.tags ?? []
        if let empty = tags.firstIndex(where: \.isEmpty) {
            throw .badRequest(path: "\(path).tags[\(empty)]", "must not be empty")
        }
        var createdAt = now
        if let text = entry.createdAt {
            guard let date = ISO8601.parse(text) else {
                throw .badRequest(
                    path: "\(path).createdAt",
                    "expected an ISO 8601 date, got \(MemorySearchHandler.Parameters.quoted(text))")
            }
            createdAt = date
        }
        if let embedding = entry.embedding {
            try MemorySearchHandler.Parameters.validate(embedding, path: "\(path).embedding", dimension: dimension)
            dimension = embedding.count
        }
        return MemoryEntry(id: entry.id, text: entry.text, tags: tags, createdAt: createdAt, embedding: entry.embedding)
    }

    /// Writes through a shared backend (``MemoryWriter``, e.g. Redis): answered only after the backend
    /// acknowledged the batch and the local store shows it; a backend that is away fails the request at once
    /// with `memory store unavailable: …`.
    private static func write(_ entries: [MemoryEntry], through backend: any MemoryWriter, context: OperationContext)
        async throws -> Response
    {
        let receipt: MemoryWriteReceipt
        do {
            receipt = try await backend.write(entries)
        } catch let error as MemoryBackendUnavailable {
            context.logger.warning("memory_index refused", metadata: ["error": error.description])
            throw OperationError(code: ErrorCode.failed(Self.messageType), message: error.description)
        } catch let error as MemoryStoreError where error.code == .invalidEntry || error.code == .dimensionMismatch {
            throw OperationError.badRequest(path: "data.entries", error.message)
        }
        context.progress("writing", 1)
        return Response(indexed: entries.count, storage: receipt.storage, durable: receipt.durable)
    }

    /// Runs the blocking, durable upsert on a Dispatch thread.
    private static func write(_ entries: [MemoryEntry], to store: MemoryStore) async throws(MemoryStoreError) {
        let result: Result<Void, MemoryStoreError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                do throws(MemoryStoreError) {
                    try store.upsert(entries)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try result.get()
    }
}

/// The store refused a write (I/O error, closed or failed store): reported without internals.
struct IndexWriteFailure: LocalizedError {
    var errorDescription: String? { "the memory store could not write the entries durably" }
}
