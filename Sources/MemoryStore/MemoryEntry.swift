public import Foundation

/// One stored memory: a piece of text the assistant remembers, with tags, a creation date and an
/// optional embedding vector.
///
/// JSON form (the one the wire protocol and `sample-memories.json` use):
/// `{"id": "mem-0001", "text": "…", "tags": ["preference"], "createdAt": "2024-03-01T09:00:00.000Z",
/// "embedding": [0.1, …]}`. `createdAt` is always ISO 8601 (UTC, millisecond precision) whatever the
/// encoder's date strategy; decoding accepts any ISO 8601 offset, with or without fractional seconds, and
/// rounds to the millisecond. When decoding, a missing `tags` means `[]` and a missing `createdAt` means
/// "now" (DESIGN §8: `createdAt` defaults to now); `embedding` is omitted when `nil`.
///
/// The on-disk log keeps `createdAt` exactly (a `Double`), so only the JSON form rounds.
public struct MemoryEntry: Sendable, Codable, Equatable, Hashable {
    /// Unique key; an upsert with an existing id replaces that entry.
    public var id: String
    /// The memory itself, free text.
    public var text: String
    /// Labels used for filtering (`tags` filter: an entry must carry all requested tags). Case-sensitive.
    public var tags: [String]
    /// When the memory was created; orders ``MemoryStore/allEntries()`` and drives the `since` filter.
    public var createdAt: Date
    /// Optional embedding; its length must equal the store's dimension.
    public var embedding: [Float]?

    /// Creates an entry.
    public init(id: String, text: String, tags: [String] = [], createdAt: Date, embedding: [Float]? = nil) {
        self.id = id
        self.text = text
        self.tags = tags
        self.createdAt = createdAt
        self.embedding = embedding
    }

    enum CodingKeys: String, CodingKey {
        case id, text, tags, createdAt, embedding
    }

    /// Decodes the JSON form described on the type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        text = try container.decode(String.self, forKey: .text)
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        if let string = try container.decodeIfPresent(String.self, forKey: .createdAt) {
            guard let date = ISO8601Millis.parse(string) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .createdAt, in: container,
                    debugDescription: "expected an ISO 8601 date such as 2024-03-01T09:00:00Z, found \"\(string)\"")
            }
            createdAt = date
        } else {
            createdAt = ISO8601Millis.rounded(Date())
        }
        embedding = try container.decodeIfPresent([Float].self, forKey: .embedding)
    }

    /// Encodes the JSON form described on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(text, forKey: .text)
        try container.encode(tags, forKey: .tags)
        try container.encode(ISO8601Millis.format(createdAt), forKey: .createdAt)
        try container.encodeIfPresent(embedding, forKey: .embedding)
    }
}
