public import Foundation

/// What `memory_stream` computes; the wire values are `export`, `tag_stats` and `timeline`.
public enum StreamAnalysis: String, Decodable, Sendable, CaseIterable {
    /// Every matching entry, in the store's deterministic order (`createdAt`, then `id`), as ``ExportItem``s.
    case export
    /// Per tag: how many matching entries carry it and the first and last `createdAt`, as ``TagStat``s,
    /// by descending count, then tag.
    case tagStats = "tag_stats"
    /// Per UTC calendar month from the first to the last matching entry (empty months included): the count,
    /// as ``MonthCount``s, oldest first.
    case timeline
}

/// Which entries a stream covers; every given condition must hold.
public struct StreamFilter: Decodable, Sendable, Equatable {
    /// The entry carries all of these tags (case-sensitive).
    public var tags: [String]?
    /// `createdAt ≥ since` (ISO 8601).
    public var since: Date?
    /// `createdAt < until` (ISO 8601).
    public var until: Date?

    public init(tags: [String]? = nil, since: Date? = nil, until: Date? = nil) {
        self.tags = tags
        self.since = since
        self.until = until
    }
}

/// One exported memory (the entry's JSON form without its embedding).
public struct ExportItem: Encodable, Sendable, Equatable {
    public var id: String
    public var text: String
    public var tags: [String]
    /// ISO 8601, UTC, milliseconds: `2024-03-01T09:00:00.000Z`.
    public var createdAt: String
}

/// One tag's statistics over the matching entries.
public struct TagStat: Encodable, Sendable, Equatable {
    public var tag: String
    public var count: Int
    /// `createdAt` of the oldest and the newest entry with the tag (ISO 8601, UTC, milliseconds).
    public var first: String
    public var last: String
}

/// Entries created in one UTC calendar month.
public struct MonthCount: Encodable, Sendable, Equatable {
    /// `2024-03`.
    public var month: String
    public var count: Int
}

/// The fields of one `stream_chunk` (the router adds `chunk`, its index within this request, from 0).
///
/// `part` is the chunk's absolute index in the whole deterministic sequence: a stream resumed with
/// `fromChunk: k` sends parts k, k+1, … while the router's `chunk` restarts at 0.
public struct StreamChunk<Item: Encodable & Sendable>: Encodable, Sendable {
    public var part: Int
    public var analysis: String
    /// Chunks in the whole sequence (the last part is `totalChunks - 1`).
    public var totalChunks: Int
    public var items: [Item]
    /// Identifies the filtered data the sequence was computed from (see ``StreamSummary/fingerprint``).
    public var fingerprint: String
}

/// The result of `memory_stream` (the fields of `stream_complete`).
public struct StreamSummary: Encodable, Sendable, Equatable {
    public var analysis: String
    /// Chunks in the whole sequence (not only those sent by this request).
    public var chunks: Int
    /// Items in the whole sequence.
    public var items: Int
    /// The first part this request sent.
    public var fromChunk: Int
    /// Chunks and items sent by this request (`chunks − fromChunk` chunks).
    public var sentChunks: Int
    public var sentItems: Int
    public var chunkSize: Int
    /// A 64-bit FNV-1a hash (16 hex digits) of the matching entries (id, `createdAt`, tags, text) in stream order.
    /// A client resuming with `fromChunk` passes it back as `fingerprint`, so a stream whose data changed in between
    /// fails with `stream_changed` instead of silently splicing two different sequences.
    public var fingerprint: String
}
