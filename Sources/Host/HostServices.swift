import RouterCore

enum HostServices {
    /// The shared services plugins find in `OperationContext.services`.
    static func make(_ configuration: RouterConfiguration, logger: Logger) async throws -> ServiceRegistry {
        ServiceRegistry()
    }
}
