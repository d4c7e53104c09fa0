public import RouterCore

/// The `streaming` plugin: ``MemoryStreamHandler`` (`memory_stream`).
///
/// Options (all optional): `{"defaultChunkSize": 100, "maxChunkSize": 10000}`, see ``StreamingOptions``.
public let streamingPlugin = Plugin(name: "streaming", options: StreamingOptions.self) { options in
    [MemoryStreamHandler(options: options)]
}

/// The `streaming` plugin's configuration `options`.
public struct StreamingOptions: Sendable, Equatable, PluginOptions {
    /// Items per chunk when the request gives no `chunkSize` (1…``maxChunkSize``); default 100.
    public var defaultChunkSize: Int
    /// The largest `chunkSize` a request may ask for; default 10,000.
    public var maxChunkSize: Int

    public init(defaultChunkSize: Int = 100, maxChunkSize: Int = 10_000) {
        self.defaultChunkSize = defaultChunkSize
        self.maxChunkSize = maxChunkSize
    }

    private enum CodingKeys: String, CodingKey { case defaultChunkSize, maxChunkSize }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = StreamingOptions()
        self.init(
            defaultChunkSize: try container.decodeIfPresent(Int.self, forKey: .defaultChunkSize) ?? defaults.defaultChunkSize,
            maxChunkSize: try container.decodeIfPresent(Int.self, forKey: .maxChunkSize) ?? defaults.maxChunkSize)
    }

    /// Decodes and validates a configuration's `options` object (``PluginOptions/decode(_:)``); failures name
    /// the path (`options.maxChunkSize`), an unknown key included.
    public init(json: JSONValue) throws {
        self = try Self.decode(json)
    }

    /// Checks the values' ranges.
    public func validate() throws {
        guard maxChunkSize >= 1 else {
            throw JSONDecodingFailure(path: "options.maxChunkSize", reason: "must be ≥ 1")
        }
        guard (1...maxChunkSize).contains(defaultChunkSize) else {
            throw JSONDecodingFailure(path: "options.defaultChunkSize", reason: "must be between 1 and \(maxChunkSize)")
        }
    }
}
