import Testing

@testable import RouterCore

struct Empty: Codable, Sendable {}

struct AlphaHandler: OperationHandler {
    static let messageType = "alpha"
    static let timeout: Duration = .seconds(30)
    static let stages = [ProgressStage("one"), ProgressStage("two", weight: 2)]
    func handle(_ request: Empty, context: OperationContext) async throws -> Empty { Empty() }
}

struct OtherAlphaHandler: OperationHandler {
    static let messageType = "alpha"
    static let eventPrefix = "other"
    static let timeout: Duration = .seconds(1)
    static let stages: [ProgressStage] = []
    func handle(_ request: Empty, context: OperationContext) async throws -> Empty { Empty() }
}

struct BetaHandler: OperationHandler {
    static let messageType = "beta"
    static let eventPrefix = "alpha"
    static let timeout: Duration = .seconds(1)
    static let stages: [ProgressStage] = []
    func handle(_ request: Empty, context: OperationContext) async throws -> Empty { Empty() }
}

struct PingHandler: OperationHandler {
    static let messageType = "ping"
    static let timeout: Duration = .seconds(1)
    static let stages: [ProgressStage] = []
    func handle(_ request: Empty, context: OperationContext) async throws -> Empty { Empty() }
}

@Suite struct RouterBuilderTests {
    @Test func buildsAnImmutableTableWithDefaultsAndOverrides() throws {
        let plugin = Plugin(name: "greek") { options in
            #expect(options == .object(["x": .number(1)]))
            return [AlphaHandler()]
        }
        let router = try RouterBuilder().register(plugin: plugin, options: .object(["x": .number(1)]), timeout: .seconds(5)).build()
        let descriptor = try #require(router.operation(for: "alpha")?.descriptor)
        #expect(descriptor.eventPrefix == "alpha")
        #expect(descriptor.timeout == .seconds(5))
        #expect(descriptor.declaredTimeout == .seconds(30))
        #expect(descriptor.pluginName == "greek")
        #expect(descriptor.stages.map(\.name) == ["one", "two"])
        #expect(router.operation(for: "beta") == nil)
    }

    @Test func rejectsADuplicateMessageTypeNamingBoth() throws {
        let builder = try RouterBuilder().register(AlphaHandler())
        #expect(throws: RouterBuilderError.self) { try builder.register(OtherAlphaHandler()) }
        do {
            try builder.register(plugin: Plugin(name: "p", handlers: [OtherAlphaHandler()]))
            Issue.record("expected a duplicate error")
        } catch {
            #expect(
                error.description
                    == #"message type "alpha" is registered twice: by RouterCoreTests.AlphaHandler and by RouterCoreTests.OtherAlphaHandler (plugin "p")"#
            )
        }
    }

    @Test func rejectsADuplicatePrefixReservedNamesAndBadTimeouts() throws {
        #expect(throws: RouterBuilderError.self) { try RouterBuilder().register(AlphaHandler()).register(BetaHandler()) }
        #expect {
            try RouterBuilder().register(PingHandler())
        } throws: { error in
            guard case .reservedName("ping", _) = error as? RouterBuilderError else { return false }
            return true
        }
        #expect(throws: RouterBuilderError.invalidTimeout(messageType: "alpha", timeout: .zero)) {
            try RouterBuilder().register(AlphaHandler(), timeout: .zero)
        }
    }

    @Test func reportsAFailingPluginFactory() {
        let plugin = Plugin(name: "broken") { options in
            _ = try options.decode([String: Int].self, rootName: "options")
            return []
        }
        #expect(throws: RouterBuilderError.pluginFailed(plugin: "broken", reason: "options.limit: expected integer, found string")) {
            try RouterBuilder().register(plugin: plugin, options: .object(["limit": .string("x")]))
        }
    }
}
