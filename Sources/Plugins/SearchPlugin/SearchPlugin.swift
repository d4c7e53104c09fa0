public import RouterCore

/// The `search` plugin: ``MemorySearchHandler`` (`memory_search`) and ``MemoryIndexHandler`` (`memory_index`)
/// over the ``MemoryStore`` the host registers as a shared service (`services.register(store)`).
///
/// Its configuration entry's `options` decode into ``SearchOptions``; a missing object means the defaults:
///
/// ```json
/// {"name": "search", "options": {"defaultLimit": 10, "maxLimit": 1000, "maxIndexBatch": 1000}}
/// ```
public let searchPlugin = SearchPlugin.plugin

/// Namespace of the `search` plugin.
public enum SearchPlugin {
    /// The plugin's configuration name.
    public static let name = "search"

    /// The plugin value the host registers (see ``searchPlugin``).
    public static let plugin = Plugin(name: name, options: SearchOptions.self) { settings in
        [MemorySearchHandler(options: settings), MemoryIndexHandler(options: settings)]
    }
}

/// Options of the `search` plugin.
///
/// Every key is optional; an unknown key is rejected (a typo must not silently fall back to a default), as is
/// a value out of range, each with its path: `options.maxLimit: must be between 1 and 100000, got 0`.
/// `SearchOptions.decode(json)` (``PluginOptions``) is the one path that does all of it.
public struct SearchOptions: Sendable, Equatable, PluginOptions {
    /// Largest `maxLimit` (and `maxIndexBatch`) accepted: a bound on a single request's work and response size.
    public static let ceiling = 100_000

    /// `limit` of a `memory_search` that names none (default 10); within `1...maxLimit`.
    public var defaultLimit: Int
    /// Largest `limit` a `memory_search` may ask for (default 1000).
    public var maxLimit: Int
    /// Most entries one `memory_index` request may carry (default 1000); more is `payload_too_large`.
    public var maxIndexBatch: Int

    /// Creates options; the values are not validated here (``decode(_:)`` validates configuration input).
    public init(defaultLimit: Int = 10, maxLimit: Int = 1000, maxIndexBatch: Int = 1000) {
        self.defaultLimit = defaultLimit
        self.maxLimit = maxLimit
        self.maxIndexBatch = maxIndexBatch
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let defaults = SearchOptions()
        func value(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
            let key = Key(name)
            guard let value = try container.decodeIfPresent(Int.self, forKey: key) else { return fallback }
            guard range.contains(value) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: container.codingPath + [key],
                        debugDescription: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"))
            }
            return value
        }
        maxLimit = try value("maxLimit", default: defaults.maxLimit, in: 1...Self.ceiling)
        defaultLimit = try value("defaultLimit", default: min(defaults.defaultLimit, maxLimit), in: 1...maxLimit)
        maxIndexBatch = try value("maxIndexBatch", default: defaults.maxIndexBatch, in: 1...Self.ceiling)
    }
}
