import Glibc

/// Thin wrappers over the POSIX calls the log needs: EINTR retries, full writes, and errors that name the
/// call, the path and `strerror(errno)`.
enum FileIO {
    static func error(_ call: String, _ path: String, _ code: Int32 = errno) -> MemoryStoreError {
        MemoryStoreError(.io, "\(call)(\(path)) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(MemoryStoreError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw error("open", path) }
        }
    }

    /// Writes all of `bytes` (loops over short writes).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(MemoryStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            offset += written
        }
    }

    /// Writes all of `bytes`.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(MemoryStoreError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MemoryStoreError) in try writeAll(fd, raw, path: path) }
        }
        try result.get()
    }

    /// Reads up to `count` bytes into `buffer` at `offset`; returns the number read (0 at end of file).
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(MemoryStoreError) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw error("read", path) }
        }
    }

    /// Reads up to `buffer.count` bytes at `offset` (`pread`); returns the number read (0 at end of file).
    static func read(_ fd: Int32, at offset: Int, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(
        MemoryStoreError
    ) -> Int {
        while true {
            let count = Glibc.pread(fd, buffer.baseAddress!, buffer.count, off_t(offset))
            if count >= 0 { return count }
            if errno != EINTR { throw error("pread", path) }
        }
    }

    static func fsync(_ fd: Int32, path: String) throws(MemoryStoreError) {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw error("fsync", path) }
        }
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws(MemoryStoreError) {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw error("ftruncate", path) }
        }
    }

    static func size(_ fd: Int32, path: String) throws(MemoryStoreError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error("fstat", path) }
        return Int(info.st_size)
    }

    /// `flock(LOCK_EX | LOCK_NB)`: one open store per log file, across processes.
    ///
    /// A lock still held is retried for up to `patience` (every 10 ms) before `.locked` is thrown: a store
    /// closed a moment ago can stay locked briefly while a child process spawned at that moment still
    /// shares the descriptor (between its fork and its exec), and a restarted host may start while the
    /// previous one is exiting.
    static func lockExclusive(_ fd: Int32, path: String, patience: Duration = .seconds(1)) throws(MemoryStoreError) {
        let deadline = ContinuousClock.now + patience
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK {
                if ContinuousClock.now < deadline {
                    usleep(10_000)
                    continue
                }
                throw MemoryStoreError(.locked, "\(path) is already open (locked by another MemoryStore or process)")
            }
            throw error("flock", path)
        }
    }

    /// Makes a rename or a file creation in `directory` durable.
    static func fsyncDirectory(_ directory: String) throws(MemoryStoreError) {
        let fd = try open(directory, O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(fd) }
        try fsync(fd, path: directory)
    }

    static func rename(_ from: String, _ to: String) throws(MemoryStoreError) {
        guard Glibc.rename(from, to) == 0 else { throw error("rename", "\(from) → \(to)") }
    }

    static func unlinkIfPresent(_ path: String) throws(MemoryStoreError) {
        guard Glibc.unlink(path) == 0 || errno == ENOENT else { throw error("unlink", path) }
    }

    /// `mkdir -p`.
    static func createDirectory(_ path: String) throws(MemoryStoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw error("mkdir", current) }
        }
    }
}
