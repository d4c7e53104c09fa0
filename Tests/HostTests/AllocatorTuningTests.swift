#if canImport(Glibc)
import Glibc
#endif
@testable import RouterHost
import Testing

@Suite("Allocator tuning: large messages from malloc's heap, not a fresh mapping each")
struct AllocatorTuningTests {
    /// glibc marks a chunk served by its own `mmap` with bit 1 (IS_MMAPPED) of the size word just before it.
    private func isOwnMapping(_ pointer: UnsafeMutableRawPointer) -> Bool {
        pointer.load(fromByteOffset: -MemoryLayout<Int>.size, as: Int.self) & 2 != 0
    }

    @Test func aOneMebibyteBufferComesFromTheHeapOnceApplied() throws {
        #if canImport(Glibc)
        #expect(AllocatorTuning.apply(environment: [:]))
        let buffer = try #require(malloc(1 << 20))
        defer { free(buffer) }
        // Without the tuning this fails (seen): glibc maps every allocation over 128 KiB on its own. (Above the
        // threshold a buffer is mapped only when no freed chunk fits, so that side is not checked here.)
        #expect(!isOwnMapping(buffer), "a 1 MiB buffer still got its own mmap")
        #endif
    }

    @Test func tunablesInTheEnvironmentWin() {
        #expect(!AllocatorTuning.apply(environment: ["GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"]))
        #expect(!AllocatorTuning.apply(environment: ["GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"]))
    }
}
