import Synchronization

@testable import MemoryStore

/// A disk in memory that knows what was synced: every file has its current bytes and its *durable* bytes (as
/// of its last `fsync`), and the directory has its current names and its durable names (as of the last
/// directory `fsync`). ``crash(powerCut:)`` ends the "process" (its handles, locks and timers die; every later
/// call from it fails); with `powerCut` it also drops everything that was not synced — file bytes, created,
/// renamed and removed names — as a machine losing power would.
///
/// The clock is manual: ``advance(by:)`` moves it and runs the timers that came due (the interval fsync).
final class SimulatedDisk: Sendable {
    struct File {
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    fileprivate struct Job {
        var due: Duration
        var process: Int
        var work: @Sendable () -> Void
    }

    fileprivate struct State {
        var files: [Int: File] = [:]
        var names: [String: Int] = [:]
        var durableNames: [String: Int] = [:]
        var handles: [Int32: (inode: Int, process: Int)] = [:]
        var locks: [Int: Int32] = [:]
        var nextInode = 1
        var nextHandle: Int32 = 3
        var process = 0
        var clock: Duration = .zero
        var jobs: [Job] = []
        var fsyncs = 0
    }

    private let state = Mutex(State())
    private let origin = ContinuousClock.now

    /// The file system as seen by the current process.
    func fileSystem() -> SimulatedFileSystem {
        SimulatedFileSystem(disk: self, process: state.withLock { $0.process })
    }

    /// Ends the current process; with `powerCut`, also drops every unsynced byte and name.
    func crash(powerCut: Bool) {
        state.withLock { state in
            state.process += 1
            state.handles = [:]
            state.locks = [:]
            state.jobs = []
            if powerCut {
                state.names = state.durableNames
                for inode in Array(state.files.keys) { state.files[inode]!.data = state.files[inode]!.durable }
            }
        }
    }

    /// Moves the clock and runs the timers that came due (outside the disk's lock).
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Job] in
            state.clock += duration
            let due = state.jobs.filter { $0.due <= state.clock && $0.process == state.process }
            state.jobs.removeAll { $0.due <= state.clock }
            return due.sorted { $0.due < $1.due }
        }
        for job in due { job.work() }
    }

    /// Delays of the timers scheduled and not yet run, from now.
    var pendingTimers: [Duration] { state.withLock { state in state.jobs.map { $0.due - state.clock } } }

    /// The current bytes of the file named `path` (nil if there is none).
    func contents(_ path: String) -> [UInt8]? {
        state.withLock { state in state.names[path].flatMap { state.files[$0]?.data } }
    }

    /// Replaces the current bytes of `path` (creating it, durably), e.g. to damage a log.
    func write(_ path: String, _ bytes: [UInt8]) {
        state.withLock { state in
            let inode = state.names[path] ?? {
                defer { state.nextInode += 1 }
                return state.nextInode
            }()
            state.names[path] = inode
            state.durableNames[path] = inode
            state.files[inode] = File(data: bytes, durable: bytes)
        }
    }

    /// Every name currently in the directory.
    var names: [String] { state.withLock { Array($0.names.keys).sorted() } }

    /// How many file fsyncs were made.
    var fsyncCount: Int { state.withLock { $0.fsyncs } }

    fileprivate func perform<T>(
        _ process: Int, _ call: String, _ path: String, _ body: (inout State) throws(MemoryStoreError) -> T
    ) throws(MemoryStoreError) -> T {
        try state.withLock { state throws(MemoryStoreError) -> T in
            guard process == state.process else {
                throw MemoryStoreError(.io, "\(call)(\(path)) failed: the process crashed (simulated)")
            }
            return try body(&state)
        }
    }

    fileprivate func inode(of handle: Int32, _ state: State, _ call: String, _ path: String) throws(MemoryStoreError) -> Int {
        guard let entry = state.handles[handle] else {
            throw MemoryStoreError(.io, "\(call)(\(path)) failed: bad handle \(handle) (simulated)")
        }
        return entry.inode
    }

    fileprivate var now: ContinuousClock.Instant { origin + state.withLock { $0.clock } }

    fileprivate func schedule(_ process: Int, after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard process == state.process else { return }
            state.jobs.append(Job(due: state.clock + delay, process: process, work: work))
        }
    }

    fileprivate static func directory(of path: String) -> String { AppendOnlyLog.directory(of: path) }
}

/// ``LogFileSystem`` over a ``SimulatedDisk``, for one simulated process.
struct SimulatedFileSystem: LogFileSystem {
    let disk: SimulatedDisk
    let process: Int

    func open(_ path: String, create: Bool, truncate: Bool) throws(MemoryStoreError) -> Int32 {
        try disk.perform(process, "open", path) { state throws(MemoryStoreError) -> Int32 in
            let inode: Int
            if let existing = state.names[path] {
                inode = existing
            } else {
                guard create else { throw MemoryStoreError(.io, "open(\(path)) failed: No such file or directory") }
                inode = state.nextInode
                state.nextInode += 1
                state.files[inode] = SimulatedDisk.File()
                state.names[path] = inode
            }
            if truncate { state.files[inode]!.data = [] }
            let handle = state.nextHandle
            state.nextHandle += 1
            state.handles[handle] = (inode, process)
            return handle
        }
    }

    func lockExclusive(_ handle: Int32, path: String) throws(MemoryStoreError) {
        try disk.perform(process, "flock", path) { state throws(MemoryStoreError) in
            let inode = try disk.inode(of: handle, state, "flock", path)
            if let holder = state.locks[inode], holder != handle {
                throw MemoryStoreError(.locked, "\(path) is already open (locked by another MemoryStore or process)")
            }
            state.locks[inode] = handle
        }
    }

    func isCurrent(_ handle: Int32, path: String) -> Bool {
        (try? disk.perform(process, "stat", path) { state throws(MemoryStoreError) -> Bool in
            state.names[path] == state.handles[handle]?.inode
        }) ?? false
    }

    func append(_ handle: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(MemoryStoreError) {
        try disk.perform(process, "write", path) { state throws(MemoryStoreError) in
            let inode = try disk.inode(of: handle, state, "write", path)
            state.files[inode]!.data.append(contentsOf: bytes)
        }
    }

    func read(_ handle: Int32, at offset: Int, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(
        MemoryStoreError
    ) -> Int {
        try disk.perform(process, "pread", path) { state throws(MemoryStoreError) -> Int in
            let inode = try disk.inode(of: handle, state, "pread", path)
            let data = state.files[inode]!.data
            guard offset < data.count else { return 0 }
            let count = min(buffer.count, data.count - offset)
            data.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
            }
            return count
        }
    }

    func fsync(_ handle: Int32, path: String) throws(MemoryStoreError) {
        try disk.perform(process, "fsync", path) { state throws(MemoryStoreError) in
            let inode = try disk.inode(of: handle, state, "fsync", path)
            state.files[inode]!.durable = state.files[inode]!.data
            state.fsyncs += 1
        }
    }

    func truncate(_ handle: Int32, to size: Int, path: String) throws(MemoryStoreError) {
        try disk.perform(process, "ftruncate", path) { state throws(MemoryStoreError) in
            let inode = try disk.inode(of: handle, state, "ftruncate", path)
            let data = state.files[inode]!.data
            state.files[inode]!.data = size <= data.count ? Array(data[0..<size]) : data + [UInt8](repeating: 0, count: size - data.count)
        }
    }

    func size(_ handle: Int32, path: String) throws(MemoryStoreError) -> Int {
        try disk.perform(process, "fstat", path) { state throws(MemoryStoreError) -> Int in
            state.files[try disk.inode(of: handle, state, "fstat", path)]!.data.count
        }
    }

    func close(_ handle: Int32) {
        try? disk.perform(process, "close", "") { state throws(MemoryStoreError) in
            guard let inode = state.handles.removeValue(forKey: handle)?.inode else { return }
            if state.locks[inode] == handle { state.locks[inode] = nil }
        }
    }

    func rename(_ from: String, _ to: String) throws(MemoryStoreError) {
        try disk.perform(process, "rename", from) { state throws(MemoryStoreError) in
            guard let inode = state.names.removeValue(forKey: from) else {
                throw MemoryStoreError(.io, "rename(\(from)) failed: No such file or directory")
            }
            state.names[to] = inode
        }
    }

    func unlinkIfPresent(_ path: String) throws(MemoryStoreError) {
        try disk.perform(process, "unlink", path) { state throws(MemoryStoreError) in state.names[path] = nil }
    }

    func fsyncDirectory(_ directory: String) throws(MemoryStoreError) {
        try disk.perform(process, "fsync", directory) { state throws(MemoryStoreError) in
            for path in Set(state.names.keys).union(state.durableNames.keys)
            where SimulatedDisk.directory(of: path) == directory {
                state.durableNames[path] = state.names[path]
            }
        }
    }

    func fileExists(_ path: String) -> Bool {
        (try? disk.perform(process, "stat", path) { state throws(MemoryStoreError) -> Bool in state.names[path] != nil })
            ?? false
    }

    func createDirectory(_ path: String) throws(MemoryStoreError) {}

    func now() -> ContinuousClock.Instant { disk.now }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        disk.schedule(process, after: delay, work)
    }
}
