import RouterCore

/// The external process plugins of a configuration: started (and their handshakes awaited)
/// before the router is built, registered into it, and stopped at shutdown.
final class ExternalPluginRegistry: Sendable {
    let processes: [ExternalPluginProcess]

    private init(_ processes: [ExternalPluginProcess]) {
        self.processes = processes
    }

    /// An empty registry (no external plugins).
    static let empty = ExternalPluginRegistry([])

    /// Starts the processes of the `.external` entries concurrently and waits for their `describe`
    /// handshakes. A failed handshake is logged and does not stop the host: the plugin's
    /// operations are still registered and answer `<type>_error` "plugin <name> is unavailable: …"
    /// until a restart succeeds.
    static func start(
        _ entries: [PluginEntry]?, settings: ExternalPluginProcess.Settings = .init(), logger: Logger
    ) async -> ExternalPluginRegistry {
        let external = (entries ?? []).compactMap { entry -> ExternalPluginEntry? in
            if case .external(let external) = entry { return external }
            return nil
        }
        let processes = external.map { ExternalPluginProcess(entry: $0, settings: settings, logger: logger) }
        await withTaskGroup(of: Void.self) { group in
            for process in processes {
                group.addTask {
                    switch await process.start() {
                    case .ready(_, let missing) where missing.isEmpty:
                        break
                    case .ready(_, let missing):
                        logger.error(
                            "external plugin \"\(process.name)\": its describe answer lacks \(missing.map { "\"\($0)\"" }.joined(separator: ", ")), listed in messageTypes; those operations will answer with an error",
                            metadata: ["plugin": process.name])
                    case .failed(let reason):
                        logger.error(
                            "external plugin \"\(process.name)\" failed its handshake: \(reason); its operations (\(process.entry.messageTypes.joined(separator: ", "))) will answer with an error\(process.entry.restart ? " until a restart succeeds" : "")",
                            metadata: ["plugin": process.name])
                    }
                }
            }
        }
        return ExternalPluginRegistry(processes)
    }

    /// Registers every configured operation of every external plugin.
    func register(into builder: RouterBuilder) throws(RouterBuilderError) {
        for process in processes {
            for operation in process.operations() {
                try builder.register(operation: operation)
            }
        }
    }

    /// Stops every process (see ``ExternalPluginProcess/stop()``).
    func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for process in processes {
                group.addTask { await process.stop() }
            }
        }
    }
}
