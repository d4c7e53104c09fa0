import Foundation
import RouterCore
import Testing

@Suite("memory.backend and memory.redis")
struct RedisBackendConfigurationTests {
    static func load(_ json: String) -> Result<RouterConfiguration, ConfigurationErrors> {
        RouterConfiguration.load(json: Data(json.utf8), knownPlugins: ["search"])
    }

    @Test func theDefaultBackendIsLocal() throws {
        let configuration = try Self.load("{}").get()
        #expect(configuration.memory.backend == "local")
        #expect(configuration.memory.redis == RouterConfiguration.Memory.Redis())
    }

    @Test func readsEveryRedisKey() throws {
        let configuration = try Self.load(
            #"""
            {"memory": {"backend": "redis", "redis": {"url": "redis://:pw@10.0.0.5:6380/2", "passwordEnv": "PW", "stream": "s",
             "connectTimeoutMs": 100, "commandTimeoutMs": 200, "waitReplicas": 1, "snapshotIntervalMs": 300,
             "snapshotMinEntries": 40, "snapshotLockTtlMs": 500}}}
            """#
        ).get()
        var expected = RouterConfiguration.Memory.Redis()
        expected.url = "redis://:pw@10.0.0.5:6380/2"
        expected.passwordEnv = "PW"
        expected.stream = "s"
        expected.connectTimeoutMs = 100
        expected.commandTimeoutMs = 200
        expected.waitReplicas = 1
        expected.snapshotIntervalMs = 300
        expected.snapshotMinEntries = 40
        expected.snapshotLockTtlMs = 500
        #expect(configuration.memory.backend == "redis")
        #expect(configuration.memory.redis == expected)
    }

    @Test(arguments: [
        (#"{"memory": {"backend": "redis"}}"#, [#"memory.redis.url: is required with memory.backend "redis""#]),
        (#"{"memory": {"backend": "postgres"}}"#, [#"memory.backend: must be one of "local", "redis""#]),
        (#"{"memory": {"backend": "redis", "redis": {"url": "http://h:1"}}}"#, ["memory.redis.url: must start with redis://"]),
        (#"{"memory": {"backend": "redis", "dataDirectory": "/d", "redis": {"url": "redis://h"}}}"#,
         [#"memory.dataDirectory: must be absent with memory.backend "redis""#]),
        (#"{"memory": {"redis": {"url": "redis://h", "comandTimeoutMs": 5}}}"#, [#"memory.redis.comandTimeoutMs: unknown key (did you mean "commandTimeoutMs"?)"#]),
        (#"{"memory": {"redis": {"waitReplicas": -1}}}"#, ["memory.redis.waitReplicas: must be between 0 and 100"]),
    ])
    func rejectsWithThePathAndTheReason(json: String, expected: [String]) {
        guard case .failure(let errors) = Self.load(json) else {
            Issue.record("accepted \(json)")
            return
        }
        let issues = errors.issues.map(\.description)
        #expect(issues.count == expected.count, "\(issues)")
        for (issue, prefix) in zip(issues, expected) { #expect(issue.hasPrefix(prefix), "\(issue)") }
    }
}
