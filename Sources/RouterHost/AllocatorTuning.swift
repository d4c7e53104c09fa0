#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The host's malloc settings (glibc only): large messages without a page fault per byte.
///
/// By default glibc serves every allocation over 128 KiB with its own `mmap` and returns it with `munmap`
/// when freed, and trims freed memory above 128 KiB back to the kernel. A 1 MiB WebSocket message then
/// costs a fresh mapping that the kernel zero-fills page by page as the payload is written: measured on
/// the 1 MiB echo (BENCHMARKS, scenario d), 1.3–1.4 ms of CPU per message instead of 0.5–0.6 ms. The host
/// raises both thresholds, so buffers up to ``mmapThreshold`` come from malloc's heaps and up to
/// ``trimThreshold`` of freed memory is kept for the next message instead of being returned.
///
/// A `GLIBC_TUNABLES` variable that sets either threshold wins: the host then leaves malloc alone.
enum AllocatorTuning {
    /// Allocations above this still get their own mapping (rare: messages over 4 MiB).
    static let mmapThreshold: Int32 = 4 << 20
    /// Free memory at the top of a heap kept for reuse before it is returned to the kernel.
    static let trimThreshold: Int32 = 16 << 20

    /// Applies the settings unless the environment sets them; returns whether it did.
    @discardableResult
    static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        #if canImport(Glibc)
        let tunables = environment["GLIBC_TUNABLES"] ?? ""
        guard !tunables.contains("mmap_threshold"), !tunables.contains("trim_threshold") else { return false }
        // <malloc.h> is not in the Glibc module: mallopt is looked up, with its parameter numbers from that header.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThresholdParameter: Int32 = -1  // M_TRIM_THRESHOLD
        let mmapThresholdParameter: Int32 = -3  // M_MMAP_THRESHOLD
        // mallopt returns 1 on success; setting the mmap threshold also turns off glibc's own adjustment of both.
        return mallopt(mmapThresholdParameter, mmapThreshold) == 1 && mallopt(trimThresholdParameter, trimThreshold) == 1
        #else
        return false
        #endif
    }
}
