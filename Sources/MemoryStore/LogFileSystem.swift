import Dispatch
import Glibc

/// The file-system calls, clock and timer that ``AppendOnlyLog`` uses: a seam, so that tests can run the log on
/// a simulated disk that records which bytes were synced and can "lose power" (drop everything unsynced).
///
/// Handles are opaque `Int32`s (file descriptors for ``POSIXFileSystem``). Every failing call throws a
/// ``MemoryStoreError`` naming the call, the path and the reason.
protocol LogFileSystem: Sendable {
    /// Opens `path` read-write for appending (creating it if `create`), truncating it if `truncate`.
    func open(_ path: String, create: Bool, truncate: Bool) throws(MemoryStoreError) -> Int32
    /// Takes the exclusive advisory lock on the open file (`.locked` if another holder keeps it).
    func lockExclusive(_ handle: Int32, path: String) throws(MemoryStoreError)
    /// True when `handle` is still the file named `path` (not replaced by a rename since it was opened).
    func isCurrent(_ handle: Int32, path: String) -> Bool
    /// Appends all of `bytes` at the end of the file.
    func append(_ handle: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(MemoryStoreError)
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end of file).
    func read(_ handle: Int32, at offset: Int, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(
        MemoryStoreError
    ) -> Int
    /// Forces the file's data to stable storage.
    func fsync(_ handle: Int32, path: String) throws(MemoryStoreError)
    /// Cuts the file to `size` bytes.
    func truncate(_ handle: Int32, to size: Int, path: String) throws(MemoryStoreError)
    /// The file's size in bytes.
    func size(_ handle: Int32, path: String) throws(MemoryStoreError) -> Int
    /// Closes the handle (releasing its lock).
    func close(_ handle: Int32)
    /// Atomically replaces `to` with `from`.
    func rename(_ from: String, _ to: String) throws(MemoryStoreError)
    /// Removes `path` if it exists.
    func unlinkIfPresent(_ path: String) throws(MemoryStoreError)
    /// Makes renames and file creations in `directory` durable.
    func fsyncDirectory(_ directory: String) throws(MemoryStoreError)
    /// True when `path` names an existing file.
    func fileExists(_ path: String) -> Bool
    /// Creates `path` and its missing parents (`mkdir -p`).
    func createDirectory(_ path: String) throws(MemoryStoreError)
    /// The current time (the interval fsync policy measures with it).
    func now() -> ContinuousClock.Instant
    /// Runs `work` once, after `delay`, on some background thread.
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void)
}

extension LogFileSystem {
    /// Appends all of `bytes`.
    func append(_ handle: Int32, _ bytes: [UInt8], path: String) throws(MemoryStoreError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MemoryStoreError) in try append(handle, raw, path: path) }
        }
        try result.get()
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    func read(_ handle: Int32, at offset: Int, count: Int, path: String) throws(MemoryStoreError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result = bytes.withUnsafeMutableBytes { target in
            Result { () throws(MemoryStoreError) -> Int in
                var total = 0
                while total < count {
                    let got = try read(
                        handle, at: offset + total, into: UnsafeMutableRawBufferPointer(rebasing: target[total...]), path: path)
                    if got == 0 { break }
                    total += got
                }
                return total
            }
        }
        let total = try result.get()
        if total < count { bytes.removeLast(count - total) }
        return bytes
    }

    /// Opens and locks `path`, retrying when the file was replaced (renamed over by a compaction) between the
    /// open and the lock, so the lock held is always the current log's.
    func openLocked(_ path: String, create: Bool) throws(MemoryStoreError) -> Int32 {
        while true {
            let handle = try open(path, create: create, truncate: false)
            do throws(MemoryStoreError) {
                try lockExclusive(handle, path: path)
            } catch {
                close(handle)
                throw error
            }
            if isCurrent(handle, path: path) { return handle }
            close(handle)
        }
    }
}

/// The real file system: POSIX calls (``FileIO``), `ContinuousClock` and Dispatch.
struct POSIXFileSystem: LogFileSystem {
    func open(_ path: String, create: Bool, truncate: Bool) throws(MemoryStoreError) -> Int32 {
        try FileIO.open(path, O_RDWR | O_APPEND | (create ? O_CREAT : 0) | (truncate ? O_TRUNC : 0))
    }

    func lockExclusive(_ handle: Int32, path: String) throws(MemoryStoreError) {
        try FileIO.lockExclusive(handle, path: path)
    }

    func isCurrent(_ handle: Int32, path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(handle, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_ino == named.st_ino && open.st_dev == named.st_dev
    }

    func append(_ handle: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(MemoryStoreError) {
        try FileIO.writeAll(handle, bytes, path: path)
    }

    func read(_ handle: Int32, at offset: Int, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(
        MemoryStoreError
    ) -> Int {
        try FileIO.read(handle, at: offset, into: buffer, path: path)
    }

    func fsync(_ handle: Int32, path: String) throws(MemoryStoreError) { try FileIO.fsync(handle, path: path) }

    func truncate(_ handle: Int32, to size: Int, path: String) throws(MemoryStoreError) {
        try FileIO.truncate(handle, to: size, path: path)
    }

    func size(_ handle: Int32, path: String) throws(MemoryStoreError) -> Int { try FileIO.size(handle, path: path) }

    func close(_ handle: Int32) { _ = Glibc.close(handle) }

    func rename(_ from: String, _ to: String) throws(MemoryStoreError) { try FileIO.rename(from, to) }

    func unlinkIfPresent(_ path: String) throws(MemoryStoreError) { try FileIO.unlinkIfPresent(path) }

    func fsyncDirectory(_ directory: String) throws(MemoryStoreError) { try FileIO.fsyncDirectory(directory) }

    func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    func createDirectory(_ path: String) throws(MemoryStoreError) { try FileIO.createDirectory(path) }

    func now() -> ContinuousClock.Instant { .now }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(max(0, Int(nanoseconds))), execute: work)
    }
}
