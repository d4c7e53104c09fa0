import RouterCore

/// The built-in plugins by configuration name, and how the host turns `plugins[]` into a router.
/// Plugins reach shared services (the MemoryStore) through `OperationContext.services`.
struct PluginCatalog {
    var builtIn: [Plugin]

    var names: [String] { builtIn.map(\.name) }

    /// Registers the enabled built-in plugins of `entries` (all of them when `entries` is nil),
    /// each with its options and timeout override.
    func register(_ entries: [PluginEntry]?, into builder: RouterBuilder) throws {
        let selected: [BuiltInPluginEntry]
        if let entries {
            selected = entries.compactMap { entry in
                if case .builtIn(let builtIn) = entry, builtIn.enabled { return builtIn }
                return nil
            }
        } else {
            selected = names.map { BuiltInPluginEntry(name: $0) }
        }
        for entry in selected {
            guard let plugin = builtIn.first(where: { $0.name == entry.name }) else { continue }
            try builder.register(plugin: plugin, options: entry.options, timeout: entry.timeoutMs.map { .milliseconds($0) })
        }
    }
}
