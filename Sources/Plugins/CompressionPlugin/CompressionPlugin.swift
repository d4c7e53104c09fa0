public import RouterCore

/// The `compression` plugin: ``ContextCompressHandler`` (`context_compress`).
///
/// Options (all optional): `{"duplicateThreshold": 0.8, "maxInputTokens": 1000000}`, see ``CompressionOptions``.
///
/// ```swift
/// try builder.register(plugin: compressionPlugin, options: entry.options, timeout: entry.timeout)
/// ```
public let compressionPlugin = Plugin(name: "compression", options: CompressionOptions.self) { options in
    [ContextCompressHandler(options: options)]
}

/// The `compression` plugin's configuration `options`.
public struct CompressionOptions: Sendable, Equatable, PluginOptions {
    /// Jaccard similarity at or above which sentences are near-duplicates; 0 < t ≤ 1, default 0.8.
    public var duplicateThreshold: Double
    /// Largest accepted input, in estimated tokens (``TokenEstimator``); larger gets `payload_too_large`. Default 1,000,000.
    public var maxInputTokens: Int

    public init(duplicateThreshold: Double = 0.8, maxInputTokens: Int = 1_000_000) {
        self.duplicateThreshold = duplicateThreshold
        self.maxInputTokens = maxInputTokens
    }

    private enum CodingKeys: String, CodingKey { case duplicateThreshold, maxInputTokens }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = CompressionOptions()
        self.init(
            duplicateThreshold: try container.decodeIfPresent(Double.self, forKey: .duplicateThreshold)
                ?? defaults.duplicateThreshold,
            maxInputTokens: try container.decodeIfPresent(Int.self, forKey: .maxInputTokens) ?? defaults.maxInputTokens)
    }

    /// Decodes and validates a configuration's `options` object (``PluginOptions/decode(_:)``); failures name
    /// the path (`options.duplicateThreshold`), an unknown key included.
    public init(json: JSONValue) throws {
        self = try Self.decode(json)
    }

    /// Checks the values' ranges.
    public func validate() throws {
        guard duplicateThreshold > 0, duplicateThreshold <= 1 else {
            throw JSONDecodingFailure(path: "options.duplicateThreshold", reason: "must be > 0 and ≤ 1")
        }
        guard maxInputTokens > 0 else {
            throw JSONDecodingFailure(path: "options.maxInputTokens", reason: "must be > 0")
        }
    }
}
