import Foundation
import RouterCore
import Testing

private let known = ["search", "compression", "streaming"]

private func issues(_ json: String) -> [String] {
    switch RouterConfiguration.load(json: Data(json.utf8), knownPlugins: known) {
    case .success: return []
    case .failure(let errors): return errors.issues.map(\.description)
    }
}

@Suite("Configuration loading and validation")
struct RouterConfigurationTests {
    @Test func aMinimalConfigIsCompleteWithDefaults() throws {
        let configuration = try RouterConfiguration.load(json: Data(#"{"server": {"port": 9000}}"#.utf8), knownPlugins: known).get()
        #expect(configuration.server.port == 9000)
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.path == "/ws/memory")
        #expect(configuration.heartbeat.intervalMs == 25_000)
        #expect(configuration.heartbeat.timeoutMs == 20_000)
        #expect(configuration.compression.thresholdBytes == 10_240)
        #expect(configuration.resume.windowMs == 60_000)
        #expect(configuration.shutdown.graceMs == 10_000)
        #expect(configuration.plugins == nil)
    }

    @Test func anEmptyObjectIsTheEmbeddedDefault() throws {
        let configuration = try RouterConfiguration.load(json: Data("{}".utf8), knownPlugins: known).get()
        #expect(configuration == RouterConfiguration.embeddedDefault)
    }

    @Test(arguments: [
        (#"{"server": {"port": "9000"}}"#, ["server.port: expected integer, found string"]),
        (#"{"server": {"port": 70000}}"#, ["server.port: must be between 0 and 65535"]),
        (#"{"server": {"port": 1.5}}"#, ["server.port: expected integer, found number 1.5"]),
        (#"{"server": {"prot": 9000}}"#, [#"server.prot: unknown key (did you mean "port"?)"#]),
        (#"{"sever": {}}"#, [#"sever: unknown key (did you mean "server"?)"#]),
        (#"{"server": {"path": "ws/memory"}}"#, [#"server.path: must start with "/", found "ws/memory""#]),
        (#"{"server": {"echoPath": "/ws/memory"}}"#, ["server.echoPath: must differ from server.path (/ws/memory)"]),
        (#"{"heartbeat": {"timeoutMs": 0}}"#, ["heartbeat.timeoutMs: must be > 0"]),
        (#"{"heartbeat": []}"#, ["heartbeat: expected object, found array"]),
        (#"{"compression": {"level": 12}}"#, ["compression.level: must be between 0 and 9"]),
        (#"{"limits": {"writeLowWaterBytes": 10, "writeHighWaterBytes": 5}}"#, ["limits.writeLowWaterBytes: must be < limits.writeHighWaterBytes (5)"]),
        (#"{"limits": {"maxFrameBytes": 1099511627776, "maxMessageBytes": 1099511627776}}"#, [
            "limits.maxFrameBytes: must be between 125 and 1073741824", "limits.maxMessageBytes: must be between 1 and 1073741824",
        ]),
        (#"{"limits": {"maxConnectionsPerAddress": -1, "maxReadBytesPerIteration": 10}}"#, [
            "limits.maxConnectionsPerAddress: must be >= 0", "limits.maxReadBytesPerIteration: must be between 4096 and 67108864",
        ]),
        (#"{"memory": {"fsync": "sometimes"}}"#, [#"memory.fsync: must be one of "always", "interval", "never", found "sometimes""#]),
        (#"{"logging": {"level": "verbose"}}"#, [#"logging.level: must be one of "trace", "debug", "info", "notice", "warning", "error", found "verbose""#]),
        (#"{"auth": {"token": ""}}"#, ["auth.token: must not be empty (omit it to disable authentication)"]),
        (#"{"plugins": {}}"#, ["plugins: expected array, found object"]),
        (#"{"plugins": [{"name": "search"}, {"name": "serch"}]}"#, [#"plugins[1].name: unknown plugin "serch" (did you mean "search"? known: search, compression, streaming)"#]),
        (#"{"plugins": [{"name": "search"}, {"name": "search"}]}"#, [#"plugins[1].name: duplicate plugin name "search""#]),
        (#"{"plugins": [{"name": "a"}, {"name": "b"}, {"name": "search", "timeoutMs": 0}]}"#, [
            #"plugins[0].name: unknown plugin "a" (known: search, compression, streaming; external plugins need "command")"#,
            #"plugins[1].name: unknown plugin "b" (known: search, compression, streaming; external plugins need "command")"#,
            "plugins[2].timeoutMs: must be > 0",
        ]),
        (#"{"plugins": [{"enabled": true}]}"#, ["plugins[0].name: missing (every plugin needs a name)"]),
        (#"{"plugins": [{"name": "search", "options": 3}]}"#, ["plugins[0].options: expected object, found integer"]),
        (#"{"plugins": [{"name": "x", "command": [], "messageTypes": []}]}"#, [
            "plugins[0].command: must not be empty", "plugins[0].messageTypes: must list at least one message type",
        ]),
        (#"{"plugins": [{"name": "x", "command": ["python3"], "messageTypes": ["t"], "enabled": true}]}"#, [
            #"plugins[0].enabled: unknown key (known: name, command, messageTypes, timeoutMs, env, restart)"#,
        ]),
    ])
    func badConfigsReportEveryProblemWithItsPath(json: String, expected: [String]) {
        #expect(issues(json) == expected)
    }

    @Test func severalProblemsAcrossSectionsAreReportedTogether() {
        let found = issues(#"{"server": {"port": "x", "host": ""}, "heartbeat": {"intervalMs": -1}, "limits": {"maxConnections": 0}}"#)
        #expect(found == [
            "server.port: expected integer, found string",
            "server.host: must not be empty",
            "heartbeat.intervalMs: must be > 0",
            "limits.maxConnections: must be > 0",
        ])
    }

    @Test func invalidJSONIsReportedWithItsPosition() {
        let found = issues(#"{"server": {"port": 9000,}}"#)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("invalid JSON") == true)
        #expect(found.first?.contains("offset") == true || found.first?.contains("byte") == true)
    }

    @Test func anUnreadableFileIsReported() {
        guard case .failure(let errors) = RouterConfiguration.load(file: "/nonexistent/router.json", knownPlugins: known) else {
            Issue.record("expected a failure")
            return
        }
        #expect(errors.description == "cannot read config file /nonexistent/router.json")
    }

    @Test func pluginEntriesAreBuiltInOrExternal() throws {
        let json = #"""
            {"plugins": [
              {"name": "search", "timeoutMs": 5000, "options": {"defaultLimit": 5}},
              {"name": "compression", "enabled": false},
              {"name": "stats", "command": ["python3", "stats.py"], "messageTypes": ["text_stats"], "env": {"A": "1"}, "restart": false}
            ]}
            """#
        let configuration = try RouterConfiguration.load(json: Data(json.utf8), knownPlugins: known).get()
        #expect(configuration.plugins == [
            .builtIn(BuiltInPluginEntry(name: "search", timeoutMs: 5000, options: .object(["defaultLimit": .number(5)]))),
            .builtIn(BuiltInPluginEntry(name: "compression", enabled: false)),
            .external(ExternalPluginEntry(
                name: "stats", command: ["python3", "stats.py"], messageTypes: ["text_stats"], env: ["A": "1"], restart: false)),
        ])
    }

    @Test func theExampleConfigsInTheRepositoryAreValid() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        #expect(files.count >= 3)
        for file in files {
            let result = RouterConfiguration.load(file: directory.appendingPathComponent(file).path, knownPlugins: known)
            if case .failure(let errors) = result { Issue.record("\(file): \(errors)") }
        }
    }

    @Test func newLimitsMapOntoTheTransport() throws {
        let json = #"{"limits": {"maxConnectionsPerAddress": 7, "maxReadBytesPerIteration": 65536}}"#
        let transport = try RouterConfiguration.load(json: Data(json.utf8), knownPlugins: known).get().transportConfiguration()
        #expect(transport.maxConnectionsPerAddress == 7)
        #expect(transport.maxReadBytesPerIteration == 65536)
        let defaults = RouterConfiguration().transportConfiguration()
        #expect(defaults.maxConnectionsPerAddress == 256)
        #expect(defaults.maxReadBytesPerIteration == 1 << 20)
    }

    @Test func exposingSettingsAreWarnedAbout() throws {
        #expect(RouterConfiguration().exposureWarnings().isEmpty)
        let open = try RouterConfiguration.load(
            json: Data(#"{"server": {"host": "0.0.0.0", "allowedOrigins": ["*"]}}"#.utf8), knownPlugins: known
        ).get()
        let warnings = open.exposureWarnings()
        #expect(warnings.count == 2)
        #expect(warnings.first?.hasPrefix(#"server.allowedOrigins contains "*""#) == true)
        #expect(warnings.last?.hasPrefix("listening on 0.0.0.0 without auth.token") == true)
        let withToken = try RouterConfiguration.load(
            json: Data(#"{"server": {"host": "0.0.0.0"}, "auth": {"token": "t"}}"#.utf8), knownPlugins: known
        ).get()
        #expect(withToken.exposureWarnings().isEmpty)
    }

    @Test func metricsAreProtectedByTheTokenUnlessTurnedOff() throws {
        #expect(RouterConfiguration().metricsToken == nil)
        let protected = try RouterConfiguration.load(json: Data(#"{"auth": {"token": "t"}}"#.utf8), knownPlugins: known).get()
        #expect(protected.metricsToken == "t")
        let open = try RouterConfiguration.load(
            json: Data(#"{"auth": {"token": "t", "protectMetrics": false}}"#.utf8), knownPlugins: known
        ).get()
        #expect(open.metricsToken == nil)
    }

    @Test func theConfigurationMapsOntoTransportAndRouterSettings() throws {
        let json = #"{"server": {"port": 1234, "echoPath": "/ws/echo", "allowedOrigins": ["http://a"]}, "heartbeat": {"intervalMs": 1000, "timeoutMs": 500}, "auth": {"token": "t"}, "compression": {"thresholdBytes": 2048}, "limits": {"maxInFlightPerConnection": 4}}"#
        let configuration = try RouterConfiguration.load(json: Data(json.utf8), knownPlugins: known).get()
        let transport = configuration.transportConfiguration()
        #expect(transport.port == 1234)
        #expect(transport.echoPath == "/ws/echo")
        #expect(transport.heartbeatInterval == .seconds(1))
        #expect(transport.heartbeatTimeout == .milliseconds(500))
        #expect(transport.handshakePolicy == WebSocketHandshakePolicy(allowedOrigins: ["http://a"], bearerToken: "t"))
        #expect(transport.perMessageDeflate.threshold == 2048)
        let settings = configuration.routerSettings()
        #expect(settings.maxInFlightPerConnection == 4)
        #expect(settings.compressionThreshold == 2048)
    }
}
