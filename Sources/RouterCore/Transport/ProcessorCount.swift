import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

enum ProcessorCount {
    /// The CPUs this process may run on (its affinity mask, so `taskset` is honoured), at least 1.
    static var available: Int {
        var set = cpu_set_t()
        guard sched_getaffinity(0, MemoryLayout<cpu_set_t>.size, &set) == 0 else { return 1 }
        let count = withUnsafeBytes(of: set) { raw in raw.reduce(0) { $0 + $1.nonzeroBitCount } }
        return max(1, count)
    }
}
