import RouterCore

/// The Swift plugins a host was built with, by configuration name (``RouterHost/builtInPlugins`` and any
/// the executable adds). Plugins reach shared services (the MemoryStore) through `OperationContext.services`.
struct PluginCatalog {
    let plugins: [Plugin]

    /// - Throws: ``RouterHostError`` when two plugins share a name (the config could not tell them apart).
    init(plugins: [Plugin]) throws(RouterHostError) {
        var seen: Set<String> = []
        for plugin in plugins where !seen.insert(plugin.name).inserted {
            throw RouterHostError("two plugins are named \"\(plugin.name)\"; a configuration names plugins, so names must be unique")
        }
        self.plugins = plugins
    }

    var names: [String] { plugins.map(\.name) }

    func plugin(named name: String) -> Plugin? {
        plugins.first { $0.name == name }
    }
}
