import RouterCore
import RouterTesting
import Synchronization
import Testing

/// Spins without ever checking cancellation until `release` is set (a CPU-bound handler gone wrong).
struct SpinHandler: OperationHandler {
    static let messageType = "spin"
    static let timeout: Duration = .seconds(60)
    static let stages = [ProgressStage("spin")]
    let control: SpinControl

    func handle(_ request: Empty, context: OperationContext) async throws -> Empty {
        control.spinning.add(1, ordering: .relaxed)
        while !control.release.load(ordering: .relaxed) {}
        return Empty()
    }
}

final class SpinControl: Sendable {
    let release = Atomic<Bool>(false)
    let spinning = Atomic<Int>(0)
}

@Suite struct SpinningHandlerTests {
    /// Handlers that spin on every core must not delay their own timeouts, nor another client's small
    /// request: handlers run on their own threads, the router's timers and sessions elsewhere.
    @Test func timeoutsFireAndOtherClientsAreAnsweredWhileHandlersSpin() async throws {
        let control = SpinControl()
        defer { control.release.store(true, ordering: .relaxed) }
        let router = try RouterBuilder()
            .register(SpinHandler(control: control))
            .register(ScriptHandler { _, _ in })
            .build()
        let service = RouterService(router: router, logger: .disabled)
        let spinners = 4
        try await withRunningService(service) {
            let hog = TestConnection(to: service)
            for index in 0..<spinners { hog.send(#"{"type":"spin","id":"s\#(index)","timeout":300}"#) }
            let spun = await hog.sink.waitFor(timeout: .seconds(30)) { _ in control.spinning.load(ordering: .relaxed) == spinners }
            #expect(spun, "every spinning handler started")
            let started = ContinuousClock.now
            // Each spinner's client hears of its timeout while the handler still spins.
            let timedOut = await hog.sink.waitFor(timeout: .seconds(30)) { messages in
                messages.filter { $0["code"] == "spin_timeout" }.count == spinners
            }
            #expect(timedOut)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(control.spinning.load(ordering: .relaxed) == spinners && !control.release.load(ordering: .relaxed))
            // Another client is answered meanwhile.
            let bystander = TestConnection(to: service)
            bystander.send(#"{"type":"script","id":"b","data":{"n":1}}"#)
            #expect(await bystander.waitForFinal("b", timeout: .seconds(10)))
            #expect(bystander.messages(for: "b").last?.messageType == "scr_complete")
            control.release.store(true, ordering: .relaxed)
        }
    }
}
