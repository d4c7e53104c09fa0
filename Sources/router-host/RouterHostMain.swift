import RouterHost

/// `router-host`: the host over the built-in plugins (see ``RouterHost/run(plugins:arguments:)``).
@main
enum RouterHostMain {
    static func main() async throws {
        try await RouterHost.run(plugins: RouterHost.builtInPlugins)
    }
}
