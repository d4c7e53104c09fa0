import MemoryStore
public import RouterCore

/// `memory_stream`: a long analysis over the store, streamed as `stream_chunk` messages while it runs and
/// resumable by chunk index (DESIGN §8).
///
/// Request `data`: `{"analysis": "export" | "tag_stats" | "timeline", "filter"?: {"tags"?, "since"?, "until"?},
/// "chunkSize"?: 1…``StreamingOptions/maxChunkSize`` (default ``StreamingOptions/defaultChunkSize``),
/// "fromChunk"?: ≥ 0 (default 0), "fingerprint"?: String}`.
///
/// The output is a deterministic sequence of `n` chunks of `chunkSize` items (the last may be shorter) for
/// the same store content, filter and chunk size: entries are read in the store's order (`createdAt`, then
/// `id`) and the aggregations sort their rows (see ``StreamAnalysis``). A request with `fromChunk: k` sends
/// exactly parts `k…n-1` (``StreamChunk/part``), each through `emit`, which suspends while the client is slow
/// (backpressure), then answers `stream_complete` with a ``StreamSummary``. `fromChunk == n` sends no chunk;
/// `fromChunk > n` is a `bad_request`. If `fingerprint` is given and the data no longer matches it, the request
/// fails with `stream_changed` before sending anything.
///
/// Stages: `snapshot` (read and filter the entries, fingerprint) → `analyzing` (aggregate) → `streaming`
/// (fraction of the parts to send). `export` formats its items only as each chunk is sent; `tag_stats` and
/// `timeline` need every entry before their first row is final, so they aggregate first (milliseconds for
/// 100,000 entries) and stream the rows. Needs the host's ``MemoryStore`` service.
public struct MemoryStreamHandler: OperationHandler {
    public struct Request: Decodable, Sendable {
        public var analysis: StreamAnalysis
        public var filter: StreamFilter?
        public var chunkSize: Int?
        public var fromChunk: Int?
        public var fingerprint: String?

        public init(
            analysis: StreamAnalysis, filter: StreamFilter? = nil, chunkSize: Int? = nil, fromChunk: Int? = nil,
            fingerprint: String? = nil
        ) {
            self.analysis = analysis
            self.filter = filter
            self.chunkSize = chunkSize
            self.fromChunk = fromChunk
            self.fingerprint = fingerprint
        }
    }

    public typealias Response = StreamSummary

    public static let messageType = "memory_stream"
    public static let eventPrefix = "stream"
    public static let timeout: Duration = .seconds(600)
    public static let stages = [
        ProgressStage("snapshot", weight: 1), ProgressStage("analyzing", weight: 1), ProgressStage("streaming", weight: 8),
    ]
    public static let requiredServices = [ServiceKey(MemoryStore.self)]  // the host registers it

    /// The code of the error sent when `fingerprint` no longer matches the data.
    public static let streamChangedCode = "stream_changed"

    public let options: StreamingOptions

    /// Checked before the request runs (`payload_too_large`).
    public var inputLimits: InputLimits { [.maxItems("filter.tags", 64, name: "maxTags")] }

    public init(options: StreamingOptions = StreamingOptions()) {
        self.options = options
    }

    public func handle(_ request: Request, context: OperationContext) async throws -> StreamSummary {
        let chunkSize = request.chunkSize ?? options.defaultChunkSize
        guard (1...options.maxChunkSize).contains(chunkSize) else {
            throw OperationError.badRequest(
                path: "data.chunkSize", "must be between 1 and \(options.maxChunkSize), found \(chunkSize)")
        }
        let fromChunk = request.fromChunk ?? 0
        guard fromChunk >= 0 else {
            throw OperationError.badRequest(path: "data.fromChunk", "must be ≥ 0, found \(fromChunk)")
        }
        if let since = request.filter?.since, let until = request.filter?.until, until <= since {
            throw OperationError.badRequest(path: "data.filter.until", "must be later than data.filter.since")
        }
        let store = try context.services.require(MemoryStore.self)

        // Snapshot: the matching entries in the store's deterministic order.
        context.advance(to: "snapshot")
        let snapshot = store.searchSnapshot()
        let documents = snapshot.orderedDocuments()
        var entries: [MemoryEntry] = []
        entries.reserveCapacity(request.filter == nil ? documents.count : 0)
        for (position, doc) in documents.enumerated() {
            if position & 4095 == 0 {
                try Task.checkCancellation()
                context.progress("snapshot", Double(position) / Double(documents.count))
            }
            if let entry = snapshot.entry(at: doc), StreamAnalyzer.matches(entry, request.filter) { entries.append(entry) }
        }
        try Task.checkCancellation()
        let fingerprint = StreamAnalyzer.fingerprint(entries)
        if let expected = request.fingerprint, expected != fingerprint {
            throw OperationError(
                code: Self.streamChangedCode,
                message: "the memories changed since fingerprint \(expected) (now \(fingerprint)); restart from chunk 0")
        }
        context.progress("snapshot", 1)

        // Analyzing, then streaming.
        context.advance(to: "analyzing")
        let stream = ChunkStream(
            analysis: request.analysis, chunkSize: chunkSize, fromChunk: fromChunk, fingerprint: fingerprint,
            context: context)
        switch request.analysis {
        case .export:
            return try await stream.send(count: entries.count) { StreamAnalyzer.exportItem(entries[$0]) }
        case .tagStats:
            let rows = StreamAnalyzer.tagStats(entries)
            return try await stream.send(count: rows.count) { rows[$0] }
        case .timeline:
            let rows = StreamAnalyzer.timeline(entries)
            return try await stream.send(count: rows.count) { rows[$0] }
        }
    }
}

/// Cuts `count` items into parts and emits parts `fromChunk…` with progress.
private struct ChunkStream {
    let analysis: StreamAnalysis
    let chunkSize: Int
    let fromChunk: Int
    let fingerprint: String
    let context: OperationContext

    func send<Item: Encodable & Sendable>(count: Int, item: (Int) -> Item) async throws -> StreamSummary {
        let total = (count + chunkSize - 1) / chunkSize
        guard fromChunk <= total else {
            throw OperationError.badRequest(
                path: "data.fromChunk", "\(fromChunk) is past the end of the stream (\(total) chunks)")
        }
        context.progress("analyzing", 1)
        context.advance(to: "streaming")
        var sentItems = 0
        for part in fromChunk..<total {
            try Task.checkCancellation()
            let range = (part * chunkSize)..<min(count, (part + 1) * chunkSize)
            let chunk = StreamChunk(
                part: part, analysis: analysis.rawValue, totalChunks: total, items: range.map(item),
                fingerprint: fingerprint)
            try await context.emit(chunk)
            sentItems += range.count
            context.progress("streaming", Double(part - fromChunk + 1) / Double(total - fromChunk))
        }
        context.progress("streaming", 1)
        return StreamSummary(
            analysis: analysis.rawValue, chunks: total, items: count, fromChunk: fromChunk, sentChunks: total - fromChunk,
            sentItems: sentItems, chunkSize: chunkSize, fingerprint: fingerprint)
    }
}
