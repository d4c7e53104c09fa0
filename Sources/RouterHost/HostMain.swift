import Foundation
import MemoryStore
public import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// The host as a library: command line, config file and validation, Swift and external process plugins,
/// the dashboard, the sample memories, `--data`, logging, signals and graceful shutdown.
///
/// `router-host` is this over ``builtInPlugins``; a package with its own Swift plugins gets all of it with
///
/// ```swift
/// import RouterHost
///
/// @main enum MyHost {
///     static func main() async throws {
///         try await RouterHost.run(plugins: [memoryStatsPlugin] + RouterHost.builtInPlugins)
///     }
/// }
/// ```
///
/// The configuration's `plugins[]` names and configures each of `plugins` exactly like a built-in one
/// (`{"name": "memory-stats", "options": {…}}`); with no `plugins` list every one of them is enabled.
public enum RouterHost {
    /// The plugins shipped with the framework: `search` (memory_search, memory_index), `compression`
    /// (context_compress) and `streaming` (memory_stream).
    public static var builtInPlugins: [Plugin] { BuiltInPlugins.all }

    /// Runs the host with `plugins` and the process's command line, until a signal stops it.
    ///
    /// Exits the process with the documented codes for what is not a normal stop: 2 for an invalid command
    /// line or configuration (also for `--check-config` with problems; 0 when it is valid), 1 for a runtime
    /// failure (port in use, a damaged memory log). Returns after a graceful shutdown.
    /// - Throws: ``RouterHostError`` when `plugins` itself is unusable (two plugins with one name): a
    ///   programming error in the executable, not in its configuration.
    public static func run(plugins: [Plugin], arguments: [String] = Array(CommandLine.arguments.dropFirst())) async throws {
        let catalog = try PluginCatalog(plugins: plugins)
        let status = await HostCommand(catalog: catalog).run(arguments)
        if status != 0 { exit(status) }
    }
}

/// Why ``RouterHost/run(plugins:arguments:)`` cannot start with the plugins it was given.
public struct RouterHostError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// One run of the host's command line over a plugin catalog; returns the exit status.
struct HostCommand {
    let catalog: PluginCatalog

    func run(_ arguments: [String]) async -> Int32 {
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions.parse(arguments)
        } catch {
            writeStderr("router-host: \(error)\n")
            return 2
        }
        if options.help {
            print(CommandLineOptions.helpText)
            return 0
        }
        var configuration: RouterConfiguration
        switch loadConfiguration(options) {
        case .success(let loaded): configuration = loaded
        case .failure(let errors):
            reportInvalid(errors)
            return 2
        }
        if let port = options.port { configuration.server.port = port }
        if let data = options.dataDirectory { configuration.memory.dataDirectory = data }
        if options.repair { return Self.repair(configuration) }
        // The same check the host makes before it starts anything: every plugin factory runs, and
        // message types and event prefixes must not clash.
        let plan: HostPlan
        switch HostPlan.make(configuration, catalog: catalog) {
        case .success(let made): plan = made
        case .failure(let errors):
            reportInvalid(errors)
            return 2
        }
        if options.checkConfig {
            print("configuration is valid")
            return 0
        }
        AllocatorTuning.apply()
        do {
            try await HostServer.serve(plan)
            return 0
        } catch {
            writeStderr("router-host: \(error)\n")
            return 1
        }
    }

    func loadConfiguration(_ options: CommandLineOptions) -> Result<RouterConfiguration, ConfigurationErrors> {
        guard let path = options.configPath else { return .success(.embeddedDefault) }
        return RouterConfiguration.load(file: path, knownPlugins: catalog.names)
    }

    func reportInvalid(_ errors: ConfigurationErrors) {
        writeStderr("router-host: invalid configuration (\(errors.issues.count) problem\(errors.issues.count == 1 ? "" : "s")):\n")
        for issue in errors.issues { writeStderr("  \(issue)\n") }
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
}

/// Serves a checked plan until a signal stops it.
enum HostServer {
    static func serve(_ plan: HostPlan) async throws {
        let configuration = plan.configuration
        let logger = HostLogging.logger(configuration.logging)
        let metrics = OperationMetrics()
        let (services, store) = try await HostServices.make(configuration, logger: logger, metrics: metrics)
        let builder = plan.builder
        // External process plugins: started and described before the router is built; stopped after shutdown.
        let externalPlugins = await ExternalPluginRegistry.start(configuration.plugins, logger: logger)
        do {
            try externalPlugins.register(into: builder)
        } catch {
            await externalPlugins.stop()
            HostServices.close(store, logger: logger)
            throw error
        }
        let router: Router
        do {
            router = try builder.build(services: services)
        } catch {
            await externalPlugins.stop()
            HostServices.close(store, logger: logger)
            throw error
        }

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
            staticFiles?.stop()
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
            group.addTask(executorPreference: server.service.settings.controlExecutor) { await server.run() }
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
        staticFiles?.stop()
        await externalPlugins.stop()
        await RedisBackendServices.stop(services)
        // After the router stopped: every in-flight operation has ended (or was cancelled at the grace period).
        HostServices.close(store, logger: logger)
    }
}

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
