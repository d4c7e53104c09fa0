import CLinuxShims

enum ProcessorCount {
    /// The CPUs this process may run on (its affinity mask, so `taskset` is honoured), at least 1.
    static var available: Int { Int(clinux_available_cpus()) }
}
