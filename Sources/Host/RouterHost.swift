import Foundation
import MemoryStore
import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// `router-host`: parse the command line, load and validate the configuration, build the router from
/// its plugins, serve, and stop gracefully on SIGINT/SIGTERM.
@main
enum RouterHost {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions.parse(arguments)
        } catch {
            writeStderr("router-host: \(error)\n")
            exit(2)
        }
        if options.help {
            print(CommandLineOptions.helpText)
            exit(0)
        }
        let catalog = BuiltInPlugins.catalog
        var configuration: RouterConfiguration
        switch loadConfiguration(options, knownPlugins: catalog.names) {
        case .success(let loaded): configuration = loaded
        case .failure(let errors):
            writeStderr("router-host: invalid configuration (\(errors.issues.count) problem\(errors.issues.count == 1 ? "" : "s")):\n")
            for issue in errors.issues { writeStderr("  \(issue)\n") }
            exit(2)
        }
        if let port = options.port { configuration.server.port = port }
        if let data = options.dataDirectory { configuration.memory.dataDirectory = data }
        if options.checkConfig {
            print("configuration is valid")
            exit(0)
        }
        if options.repair { exit(repair(configuration)) }
        do {
            try await serve(configuration, catalog: catalog)
        } catch {
            writeStderr("router-host: \(error)\n")
            exit(1)
        }
    }

    static func loadConfiguration(_ options: CommandLineOptions, knownPlugins: [String]) -> Result<RouterConfiguration, ConfigurationErrors> {
        guard let path = options.configPath else { return .success(.embeddedDefault) }
        return RouterConfiguration.load(file: path, knownPlugins: knownPlugins)
    }

    /// `router-host repair`: salvages the data directory's log; returns the exit status.
    static func repair(_ configuration: RouterConfiguration) -> Int32 {
        guard let directory = configuration.memory.dataDirectory else {
            writeStderr("router-host: repair needs the data directory: --data DIR (or memory.dataDirectory in --config)\n")
            return 2
        }
        do {
            let report = try MemoryStore.repair(directory: directory)
            print(report.description)
            return 0
        } catch {
            writeStderr("router-host: repair of \(directory) failed: \(error.message)\n")
            return 1
        }
    }

    static func serve(_ configuration: RouterConfiguration, catalog: PluginCatalog) async throws {
        let logger = HostLogging.logger(configuration.logging)
        let metrics = OperationMetrics()
        let (services, store) = try await HostServices.make(configuration, logger: logger, metrics: metrics)
        let builder = RouterBuilder()
        try catalog.register(configuration.plugins, into: builder)
        // External process plugins: started and described before the router is built; stopped after shutdown.
        let externalPlugins = await ExternalPluginRegistry.start(configuration.plugins, logger: logger)
        do {
            try externalPlugins.register(into: builder)
        } catch {
            await externalPlugins.stop()
            throw error
        }
        let router = builder.build()

        var transport = configuration.transportConfiguration()
        let staticFiles = configuration.server.staticDirectory.map { StaticFiles(root: URL(fileURLWithPath: $0)) } ?? StaticFiles.embedded()
        let signals = TerminationSignals()
        let server: RouterServer
        do {
            server = try RouterServer.start(
                router: router, path: configuration.server.path, transport: transport,
                settings: configuration.routerSettings(), services: services, metrics: metrics, logger: logger,
                metricsToken: configuration.metricsToken,
                httpResponder: { head in staticFiles?.respond(to: head) },
                degradedReason: RedisBackendServices.degradedReason(services))
        } catch {
            await externalPlugins.stop()
            HostServices.close(store, logger: logger)
            throw error
        }
        transport.port = server.port
        let host = configuration.server.host.contains(":") ? "[\(configuration.server.host)]" : configuration.server.host
        let operations = router.operations.map(\.messageType).joined(separator: ", ")
        logger.info("listening on http://\(host):\(server.port)/ (WebSocket ws://\(host):\(server.port)\(configuration.server.path))")
        logger.info("operations: \(operations.isEmpty ? "none" : operations)")
        if let echo = configuration.server.echoPath { logger.info("echo endpoint ws://\(host):\(server.port)\(echo)") }
        for warning in configuration.exposureWarnings() { logger.warning("\(warning)") }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await server.run() }
            group.addTask {
                // First signal: graceful shutdown; a second one while it runs: exit at once.
                var received = 0
                for await signal in signals.signals {
                    received += 1
                    guard received == 1 else {
                        logger.warning("received signal \(signal) again: exiting now")
                        // The store's writer lock lets a write in progress finish; then it syncs and closes.
                        HostServices.close(store, logger: logger)
                        exit(1)
                    }
                    logger.notice("received signal \(signal): stopping (grace \(configuration.shutdown.graceMs) ms; send it again to exit now)")
                    Task {
                        await server.shutdown(grace: .milliseconds(configuration.shutdown.graceMs))
                        logger.info("stopped")
                        signals.finish()
                    }
                }
            }
            await group.waitForAll()
        }
        await externalPlugins.stop()
        await RedisBackendServices.stop(services)
        // After the router stopped: every in-flight operation has ended (or was cancelled at the grace period).
        HostServices.close(store, logger: logger)
    }

    static func writeStderr(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}
