import Synchronization

/// The steps of a compaction at which a test may simulate a crash (``LogCompaction/faultHook``).
enum CompactionStep: String, Sendable, CaseIterable {
    /// The live records are in the temp file (not synced); writers are not blocked (no lock is held).
    case liveRecordsWritten
    /// The temp file holds every record and is synced; the log is untouched.
    case beforeRename
    /// The temp file was renamed over the log; the directory is not synced yet, the store still writes to the
    /// old file's handle.
    case afterRename
    /// The store switched to the new file; the directory sync comes next.
    case beforeDirectorySync
}

/// One compaction of an ``AppendOnlyLog`` in progress; owns the temp file `<path>.compact` (deleted unless the
/// compaction finished). Used by one thread at a time.
///
/// 1. ``init(_:)`` (the caller holds its writer lock, so the log's size matches its index snapshot):
///    creates and locks the temp file and remembers the log's size `P`.
/// 2. ``write(_:)`` (no lock): the live records as of `P`, then ``catchUp()`` copies what was appended after `P`
///    and syncs — repeated while much was appended meanwhile.
/// 3. ``finish(faultHook:)`` (the caller holds its writer lock again): copies the last appends, fsyncs, renames
///    the temp file over the log, switches the log to it and fsyncs the directory. Only this step blocks
///    writers; readers are never blocked.
///
/// A crash before the rename leaves the old log (and a stale `.compact` that the next open deletes); after it,
/// the new one. Both hold every acknowledged record: the writer lock is held until the directory is synced,
/// so nothing is acknowledged into the new file before its name is durable.
final class LogCompaction {
    let log: AppendOnlyLog
    let temporaryPath: String
    private let temporary: Int32
    /// A read handle on the log file, for copying its tail without its lock.
    private let source: Int32
    /// How far into the log the temp file has copied (starts at the log's size when the compaction began).
    private(set) var copiedUpTo: Int
    /// The temp file's size.
    private(set) var size: Int
    private var finished = false

    /// Begins a compaction of `log`. The caller must hold the lock that orders its appends.
    init(_ log: AppendOnlyLog) throws(MemoryStoreError) {
        let fs = log.fileSystem
        let path = log.path
        let position = try log.state.withLock { state throws(MemoryStoreError) -> Int in
            try AppendOnlyLog.checkUsable(state, path: path)
            return state.size
        }
        let temporaryPath = path + ".compact"
        let temporary = try fs.open(temporaryPath, create: true, truncate: true)
        do throws(MemoryStoreError) {
            try fs.lockExclusive(temporary, path: temporaryPath)
            try fs.append(temporary, AppendOnlyLog.magic, path: temporaryPath)
        } catch {
            fs.close(temporary)
            try? fs.unlinkIfPresent(temporaryPath)
            throw error
        }
        let source: Int32
        do throws(MemoryStoreError) {
            source = try fs.open(path, create: false, truncate: false)
        } catch {
            fs.close(temporary)
            try? fs.unlinkIfPresent(temporaryPath)
            throw error
        }
        self.log = log
        self.temporaryPath = temporaryPath
        self.temporary = temporary
        self.source = source
        self.copiedUpTo = position
        self.size = AppendOnlyLog.headerSize
    }

    deinit {
        let fs = log.fileSystem
        fs.close(source)
        if !finished {
            fs.close(temporary)
            try? fs.unlinkIfPresent(temporaryPath)
        }
    }

    /// Writes `records` (the live entries as of the start) to the temp file, 4,096 per write.
    func write(_ records: some Sequence<LogRecord>) throws(MemoryStoreError) {
        var pending: [LogRecord] = []
        pending.reserveCapacity(4096)
        for record in records {
            pending.append(record)
            if pending.count == 4096 { try flush(&pending) }
        }
        try flush(&pending)
    }

    private func flush(_ pending: inout [LogRecord]) throws(MemoryStoreError) {
        guard !pending.isEmpty else { return }
        let bytes = try AppendOnlyLog.frame(pending)
        try log.fileSystem.append(temporary, bytes, path: temporaryPath)
        size += bytes.count
        pending.removeAll(keepingCapacity: true)
    }

    /// Copies the records appended to the log since the last copy, then syncs the temp file.
    /// - Returns: how many bytes were copied.
    @discardableResult
    func catchUp() throws(MemoryStoreError) -> Int {
        let end = log.size
        var copied = 0
        while copiedUpTo < end {
            let chunk = try log.fileSystem.read(
                source, at: copiedUpTo, count: min(4 << 20, end - copiedUpTo), path: log.path)
            guard !chunk.isEmpty else {
                throw MemoryStoreError(.io, "\(log.path): ended at \(copiedUpTo) bytes, expected \(end) (compaction)")
            }
            try log.fileSystem.append(temporary, chunk, path: temporaryPath)
            copiedUpTo += chunk.count
            size += chunk.count
            copied += chunk.count
        }
        try log.fileSystem.fsync(temporary, path: temporaryPath)
        return copied
    }

    /// Copies the last appends, syncs, renames the temp file over the log and switches the log to it, then
    /// syncs the directory. The caller must hold the lock that orders appends, until this returns.
    /// - Returns: the new log's size.
    func finish(faultHook: (CompactionStep) throws(MemoryStoreError) -> Void) throws(MemoryStoreError) -> Int {
        try catchUp()
        let fs = log.fileSystem
        let path = log.path
        let temporary = self.temporary
        let temporaryPath = self.temporaryPath
        let size = self.size
        let copiedUpTo = self.copiedUpTo
        var renamed = false
        defer { if renamed { finished = true } }
        try log.state.withLock { state throws(MemoryStoreError) in
            try AppendOnlyLog.checkUsable(state, path: path)
            guard state.size == copiedUpTo else {
                throw MemoryStoreError(.io, "\(path): appended to during the final compaction step (a caller bug)")
            }
            try faultHook(.beforeRename)
            try fs.rename(temporaryPath, path)
            renamed = true
            try faultHook(.afterRename)
            fs.close(state.fd)
            state.fd = temporary
            state.size = size
            state.dirty = false
            state.lastSync = fs.now()
            try faultHook(.beforeDirectorySync)
            do throws(MemoryStoreError) {
                try fs.fsyncDirectory(AppendOnlyLog.directory(of: path))
            } catch {
                state.failure = "the directory could not be synced after compaction: \(error.message)"
                throw error
            }
        }
        return size
    }
}
