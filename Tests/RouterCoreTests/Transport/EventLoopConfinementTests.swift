import Dispatch
@testable import RouterCore
import Testing

/// Loop-confined state is asserted to be used on its loop's thread (debug builds).
@Suite struct EventLoopConfinementTests {
    /// Runs `body` on `loop`'s thread and returns its result.
    static func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: body()) }
        }
    }

    @Test func inEventLoopIsTrueOnTheLoopThreadOnly() async throws {
        let loop = try EventLoop(index: 0)
        loop.start()
        #expect(await Self.onLoop(loop) { loop.inEventLoop })
        #expect(!loop.inEventLoop)
        // Loop-confined calls on the loop's thread pass their assertion.
        #expect(await Self.onLoop(loop) { loop.registeredChannels().count } == 0)
        loop.shutdown()
        await loop.waitUntilFinished()
    }

    #if DEBUG
    @Test func aLoopConfinedCallFromAnotherThreadTrapsInDebugBuilds() async {
        await #expect(processExitsWith: .failure) {
            let loop = try EventLoop(index: 0)
            loop.start()
            let started = DispatchSemaphore(value: 0)
            loop.execute { started.signal() }
            started.wait()
            _ = loop.registeredChannels()  // not on the loop's thread
        }
    }
    #endif
}
