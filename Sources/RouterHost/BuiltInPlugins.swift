import CompressionPlugin
import RouterCore
import SearchPlugin
import StreamingPlugin

enum BuiltInPlugins {
    /// Every plugin shipped with the host, by configuration name: `search` (memory_search, memory_index),
    /// `compression` (context_compress) and `streaming` (memory_stream).
    static let all: [Plugin] = [searchPlugin, compressionPlugin, streamingPlugin]
}
