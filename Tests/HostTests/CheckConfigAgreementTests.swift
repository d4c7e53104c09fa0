import Foundation
import RouterCore
@testable import RouterHost
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--check-config` makes the same plan as the host (every plugin factory runs, message types and event
/// prefixes are checked), so both refuse the same configurations with the same messages and exit code 2,
/// and both accept every shipped config.
@Suite("--check-config and the host agree", .serialized)
struct CheckConfigAgreementTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Broken configurations and a line each must report (the whole report must be the same for both).
    static let broken: [(json: String, expected: [String])] = [
        (#"{"plugins": [{"name": "search", "options": {"maxLimit": 0}}]}"#,
         ["plugins[0].options.maxLimit: must be between 1 and 100000, got 0"]),
        (#"{"plugins": [{"name": "streaming", "options": {"maxChunkSiz": 5}}]}"#,
         [#"plugins[0].options.maxChunkSiz: unknown key (did you mean "maxChunkSize"? known: defaultChunkSize, maxChunkSize)"#]),
        (#"{"plugins": [{"name": "compression", "options": {"duplicateThreshold": 2}}, {"name": "streaming", "options": {"maxChunkSize": 0}}]}"#,
         ["plugins[0].options.duplicateThreshold: must be > 0 and ≤ 1", "plugins[1].options.maxChunkSize: must be ≥ 1"]),
        (#"{"plugins": [{"name": "search"}, {"name": "x", "command": ["true"], "messageTypes": ["memory_search", "ping"]}]}"#,
         [#"plugins[1].messageTypes[0]: message type "memory_search" is also served by plugin "search""#,
          #"plugins[1].messageTypes[1]: "ping" is reserved by the protocol or empty"#]),
        (#"{"server": {"port": "x"}, "plugins": [{"name": "serch"}]}"#,
         ["server.port: expected integer, found string", #"plugins[0].name: unknown plugin "serch" (did you mean "search"? known: search, compression, streaming)"#]),
    ]

    static func write(_ json: String) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("agree-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: file)
        return file
    }

    @Test(arguments: broken.indices)
    func bothRefuseABrokenConfigWithTheSameReportAndExitCode2(_ index: Int) async throws {
        let (json, expected) = Self.broken[index]
        let file = try Self.write(json)
        defer { try? FileManager.default.removeItem(at: file) }
        let check = try await HostProcess.run(["--check-config", "--config", file.path])
        let host = try await HostProcess.run(["--config", file.path, "--port", "0"])
        #expect(check.status == 2)
        #expect(host.status == 2)
        #expect(check.stderr == host.stderr)
        for line in expected {
            #expect(check.stderr.contains("  \(line)\n"), "\(check.stderr)")
        }
        #expect(check.stderr.hasPrefix("router-host: invalid configuration (\(expected.count) problem"), "\(check.stderr)")
        #expect(!host.stderr.contains("listening"))
    }

    @Test(arguments: ["default.json", "production.example.json", "bench.json", "external-plugin.example.json"])
    func bothAcceptEachShippedConfig(_ name: String) async throws {
        let config = Self.repository.appendingPathComponent("config/\(name)").path
        let check = try await HostProcess.run(["--check-config", "--config", config])
        #expect(check.status == 0, "\(check.stderr)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("agree-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let (host, _) = try await HostProcess.start(["--config", config, "--port", "0", "--data", data.path])
        host.signal(SIGTERM)
        let (status, log) = await host.wait()
        #expect(status == 0, "\(log)")
    }

    /// Two Swift plugins whose handlers use one event prefix: refused by the plan, with the entry's path.
    @Test func anEventPrefixUsedTwiceIsAConfigurationError() throws {
        let one = Plugin(name: "one", handlers: [PrefixHandlerA()])
        let two = Plugin(name: "two", handlers: [PrefixHandlerB()])
        let catalog = try PluginCatalog(plugins: [one, two])
        let configuration = try RouterConfiguration.load(
            json: Data(#"{"plugins": [{"name": "one"}, {"name": "two"}]}"#.utf8), knownPlugins: catalog.names
        ).get()
        guard case .failure(let errors) = HostPlan.make(configuration, catalog: catalog) else {
            Issue.record("a prefix clash was accepted")
            return
        }
        #expect(errors.issues.map(\.path) == ["plugins[1]"])
        #expect(errors.issues.first?.reason.contains(#"event prefix "same" is used twice"#) == true, "\(errors)")
    }

    @Test func twoPluginsWithOneNameAreRefusedByRun() {
        #expect(throws: RouterHostError.self) {
            try PluginCatalog(plugins: RouterHost.builtInPlugins + [Plugin(name: "search", handlers: [])])
        }
    }
}

struct PrefixHandlerA: OperationHandler {
    struct Nothing: Codable, Sendable {}
    static let messageType = "a_op"
    static let eventPrefix = "same"
    static let timeout: Duration = .seconds(5)
    static let stages: [ProgressStage] = []
    func handle(_ request: Nothing, context: OperationContext) async throws -> Nothing { Nothing() }
}

struct PrefixHandlerB: OperationHandler {
    struct Nothing: Codable, Sendable {}
    static let messageType = "b_op"
    static let eventPrefix = "same"
    static let timeout: Duration = .seconds(5)
    static let stages: [ProgressStage] = []
    func handle(_ request: Nothing, context: OperationContext) async throws -> Nothing { Nothing() }
}

/// Each built-in plugin's options are documented in PLUGINS.md: the table under `### \`<name>\` options`
/// lists exactly the keys the plugin's options type reads.
@Suite struct PluginOptionsDocumentationTests {
    @Test(arguments: RouterHost.builtInPlugins.map(\.name))
    func pluginsMdListsExactlyTheOptionsThePluginReads(_ name: String) throws {
        let text = try String(
            contentsOf: CheckConfigAgreementTests.repository.appendingPathComponent("PLUGINS.md"), encoding: .utf8)
        let plugin = try #require(RouterHost.builtInPlugins.first { $0.name == name })
        let keys = try #require(plugin.optionKeys, "built-in plugins have typed options")
        let heading = "### `\(name)` options"
        let section = try #require(text.components(separatedBy: heading).dropFirst().first, "PLUGINS.md has no \"\(heading)\"")
        var documented: [String] = []
        for line in section.split(separator: "\n").drop(while: { !$0.hasPrefix("|") }) {
            guard line.hasPrefix("|") else { break }
            let cell = line.split(separator: "|").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if cell.hasPrefix("`"), cell.hasSuffix("`") { documented.append(String(cell.dropFirst().dropLast())) }
        }
        #expect(documented.sorted() == keys.sorted(), "PLUGINS.md documents \(documented), the plugin reads \(keys)")
    }
}
