import RouterCore

enum BuiltInPlugins {
    /// Every plugin shipped with the host, by configuration name.
    static let catalog = PluginCatalog(builtIn: [])
}
