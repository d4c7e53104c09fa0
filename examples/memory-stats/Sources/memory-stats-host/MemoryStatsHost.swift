import MemoryStatsPlugin
import RouterHost

/// `memory-stats-host`: everything `router-host` does (command line, config file, dashboard, sample
/// memories, external plugins, signals), plus the `memory-stats` plugin.
@main
enum MemoryStatsHost {
    static func main() async throws {
        try await RouterHost.run(plugins: [memoryStatsPlugin] + RouterHost.builtInPlugins)
    }
}
