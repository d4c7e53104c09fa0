// This package builds with InternalImportsByDefault (Package.swift): a plain import is internal. The public
// declarations below use RouterCore's types (OperationHandler, OperationContext, Plugin, PluginOptions), so it
// is imported with `public import`; MemoryStore is used only inside the handler, so a plain import does
// (the compiler warns about a `public import` that no public declaration needs).
import MemoryStore
public import RouterCore

/// `memory_stats`: counts the stored memories and their most used tags.
///
/// Events (prefix `mstats`, unique among all plugins of a host): `mstats_progress` for the stages
/// `scanning` and `ranking`, one `mstats_chunk` per tag among the top ones (`{"tag", "count"}`), then
/// `mstats_complete` with `{"memories", "tagged", "distinctTags"}`.
public struct MemoryStatsHandler: OperationHandler {
    /// The request's `data`: `{"top": 5}` (optional; at most the plugin's `maxTopTags`).
    public struct Request: Decodable, Sendable {
        public var top: Int?

        public init(top: Int? = nil) {
            self.top = top
        }
    }

    /// The fields of `mstats_complete`.
    public struct Response: Encodable, Sendable, Equatable {
        public var memories: Int
        public var tagged: Int
        public var distinctTags: Int
    }

    /// One `mstats_chunk`: a tag and how many memories carry it.
    public struct TagCount: Encodable, Sendable, Equatable {
        public var tag: String
        public var count: Int
    }

    public static let messageType = "memory_stats"
    public static let eventPrefix = "mstats"
    public static let timeout: Duration = .seconds(30)
    public static let stages = [ProgressStage("scanning", weight: 3), ProgressStage("ranking", weight: 1)]
    public static let requiredServices = [ServiceKey(MemoryStore.self)]  // the host registers it

    let options: MemoryStatsOptions

    public init(options: MemoryStatsOptions = MemoryStatsOptions()) {
        self.options = options
    }

    public func handle(_ request: Request, context: OperationContext) async throws -> Response {
        let top = request.top ?? options.maxTopTags
        guard (1...options.maxTopTags).contains(top) else {
            throw OperationError.badRequest(path: "data.top", "must be between 1 and \(options.maxTopTags), got \(top)")
        }
        // A service the host registers; the router reports a missing one when it is built.
        let store = try context.services.require(MemoryStore.self)
        context.advance(to: "scanning")
        let entries = store.allEntries()
        var counts: [String: Int] = [:]
        var tagged = 0
        for (index, entry) in entries.enumerated() {
            if index % 256 == 0 {
                try Task.checkCancellation()  // timeout, client cancel, connection closed
                context.progress("scanning", Double(index) / Double(max(entries.count, 1)))
            }
            if !entry.tags.isEmpty { tagged += 1 }
            for tag in Set(entry.tags) { counts[tag, default: 0] += 1 }
        }
        context.advance(to: "ranking")
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(top)
        for (tag, count) in ranked {
            try await context.emit(TagCount(tag: tag, count: count))  // waits while the client is slow
        }
        return Response(memories: entries.count, tagged: tagged, distinctTags: counts.count)
    }
}

/// The `memory-stats` plugin's `options`: `{"maxTopTags": 10}`.
///
/// `PluginOptions` gives the plugin the framework's one decoding path: a key this type never reads
/// (`maxTopTag`) is refused with its path, then mistyped values, then ``validate()``.
public struct MemoryStatsOptions: PluginOptions, Equatable {
    /// The most tags a request may ask for, and the default (1…1000); default 10.
    public var maxTopTags: Int

    public init(maxTopTags: Int = 10) {
        self.maxTopTags = maxTopTags
    }

    private enum CodingKeys: String, CodingKey { case maxTopTags }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxTopTags: try container.decodeIfPresent(Int.self, forKey: .maxTopTags) ?? 10)
    }

    public func validate() throws {
        guard (1...1000).contains(maxTopTags) else {
            throw JSONDecodingFailure(path: "options.maxTopTags", reason: "must be between 1 and 1000, got \(maxTopTags)")
        }
    }
}

/// The plugin, named `memory-stats` in a configuration's `plugins[]`.
public let memoryStatsPlugin = Plugin(name: "memory-stats", options: MemoryStatsOptions.self) { options in
    [MemoryStatsHandler(options: options)]
}
