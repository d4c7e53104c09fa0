import Foundation
import RouterCore
import RouterTesting
import Testing

/// Contract fixes: envelope-named result fields fail loudly, a required service is checked when the
/// router is built, and a missing one never shows a Swift type name to the client.
@Suite struct RouterContractTests {
    struct SeqResult: Encodable, Sendable {
        var seq: Int
        var total: Int
    }

    struct CollidingHandler: OperationHandler {
        static let messageType = "collide"
        static let stages: [ProgressStage] = []
        static let timeout: Duration = .seconds(5)
        func handle(_ request: Empty, context: OperationContext) async throws -> SeqResult { SeqResult(seq: 1, total: 2) }
    }

    struct CollidingChunkHandler: OperationHandler {
        static let messageType = "collide_chunk"
        static let stages: [ProgressStage] = []
        static let timeout: Duration = .seconds(5)
        func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
            try await context.emit(["chunk": 3, "elapsedMs": 1])
            return Empty()
        }
    }

    @Test func aResultFieldNamedLikeTheEnvelopeFailsTheRequestNamingIt() async {
        let events = await OperationHarness(CollidingHandler(), clock: ManualClock()).run(json: "{}")
        #expect(events == [
            .error(
                code: "collide_error",
                message: #"collide failed: its result has the field "seq", which the router's envelope uses (reserved: chunk, elapsedMs, id, op, seq, type)"#)
        ])
    }

    @Test func aChunkFieldNamedLikeTheEnvelopeFailsTheRequestToo() async {
        let events = await OperationHarness(CollidingChunkHandler(), clock: ManualClock()).run(json: "{}")
        #expect(events.count == 1)
        guard case .error(let code, let message)? = events.first else {
            Issue.record("expected an error, got \(events)")
            return
        }
        #expect(code == "collide_chunk_error")
        #expect(message.contains(#"the fields "chunk", "elapsedMs""#), "\(message)")
    }

    struct NeedsAStore: OperationHandler {
        final class Store: Sendable {}
        static let messageType = "needs_store"
        static let stages: [ProgressStage] = []
        static let timeout: Duration = .seconds(5)
        static let requiredServices = [ServiceKey(Store.self)]
        func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
            _ = try context.services.require(Store.self)
            return Empty()
        }
    }

    @Test func aRequiredServiceTheHostDoesNotRegisterIsRefusedWhenTheRouterIsBuilt() throws {
        let builder = try RouterBuilder().register(NeedsAStore())
        #expect(throws: RouterBuilderError.missingService("Store", handler: String(reflecting: NeedsAStore.self))) {
            try builder.build(services: ServiceRegistry())
        }
        var services = ServiceRegistry()
        services.register(NeedsAStore.Store())
        #expect(try builder.build(services: services).operations.map(\.messageType) == ["needs_store"])
    }

    @Test func atRunTimeAMissingServiceNeverShowsATypeName() async {
        let events = await OperationHarness(NeedsAStore(), clock: ManualClock()).run(json: "{}")
        #expect(events == [.error(code: "needs_store_error", message: "needs_store failed: a service it needs is not available on this server")])
    }
}
