import Dispatch
import Glibc
import Synchronization

/// A durable append-only file of checksummed records (upserts and deletes of memory entries).
///
/// File layout: an 8-byte header `"MEMLOG"` + format version (UInt16 LE, currently 1), then records:
///
/// ```
/// length: UInt32 LE   payload byte count, 1 … 64 MiB
/// crc:    UInt32 LE   CRC32 (IEEE) of the 4 length bytes followed by the payload
/// payload             see LogRecord
/// ```
///
/// The checksum covers the length too, so a corrupted length cannot silently re-frame the rest of the file.
///
/// **Recovery deletes nothing it cannot prove torn.** ``open(path:fsync:replay:)`` replays every record in
/// file order. The only damage it repairs by itself is a *torn tail*: the file ends inside its last record
/// and no valid record starts anywhere after that record's offset (a crash during an append). That record is
/// cut off and reported in ``OpenReport/truncation`` with the byte count. Any other damage — a checksum
/// mismatch, an implausible length, a known record that does not decode, or an "incomplete" record with valid
/// records after it (a corrupted length) — throws ``MemoryStoreError/Code/corrupt`` with a ``LogDamage``
/// (file, offset, record number, how many valid records follow) and leaves the file untouched;
/// ``LogRepair`` salvages such a log. Records of a kind added by a newer build are kept and skipped
/// (``OpenReport/newerRecordsSkipped``); a header with a newer format version is refused
/// (``MemoryStoreError/Code/newerFormat``).
///
/// **Appends.** A batch of records is written with one `write(2)` and synced per ``FsyncPolicy``. A crash can
/// leave a prefix of an unacknowledged batch on disk (whole records plus a torn one); an acknowledged batch is
/// always complete. If a write or fsync fails, the log truncates back to its last good size and, if that is
/// impossible or the failure was an fsync, refuses all further writes (``MemoryStoreError/Code/failed``).
///
/// **Compaction** (``LogCompaction``) writes the live records to `<path>.compact`, copies the records appended
/// meanwhile, fsyncs, renames it over the log and fsyncs the directory: a crash at any step leaves either the
/// old or the new log, each holding every acknowledged record. A leftover `.compact` file is deleted on the
/// next open, after the lock is taken.
///
/// One process at a time: the file is `flock`ed while open (``MemoryStoreError/Code/locked``); the lock is
/// verified to be on the file currently at `path` (a compaction may have renamed a new one in).
/// Thread-safe: all state is behind a `Mutex`; callers serialize appends with compaction themselves if they
/// need an order across the two (``MemoryStore`` does). All file I/O goes through a ``LogFileSystem``.

public final class AppendOnlyLog: Sendable {
    static let formatVersion: UInt16 = 1
    static let magic: [UInt8] = Array("MEMLOG".utf8) + [UInt8(formatVersion & 0xFF), UInt8(formatVersion >> 8)]
    static let headerSize = 8
    static let recordHeaderSize = LogFrame.headerSize
    /// Largest accepted payload; anything larger in a record header is treated as corruption.
    public static let maxPayloadBytes = 64 << 20

    struct State {
        var fd: Int32
        var size: Int
        var dirty = false
        var lastSync: ContinuousClock.Instant
        var syncScheduled = false
        var failure: String?
    }

    /// The log file's path.
    public let path: String
    /// The fsync policy for appends.
    public let fsyncPolicy: FsyncPolicy
    let fileSystem: any LogFileSystem
    let state: Mutex<State>

    private init(path: String, fd: Int32, size: Int, fsyncPolicy: FsyncPolicy, fileSystem: any LogFileSystem) {
        self.path = path
        self.fsyncPolicy = fsyncPolicy
        self.fileSystem = fileSystem
        self.state = Mutex(State(fd: fd, size: size, lastSync: fileSystem.now()))
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 {
                if state.dirty && state.failure == nil { try? fileSystem.fsync(state.fd, path: path) }
                fileSystem.close(state.fd)
                state.fd = -1
            }
        }
    }

    /// Opens (or creates) the log at `path`, replays every record through `replay` in file order, and
    /// truncates a torn tail (reported, never silent). See the type's documentation for what counts as torn.
    ///
    /// - Throws: ``MemoryStoreError``: `.corrupt` (with ``MemoryStoreError/damage``) for damage other than a
    ///   torn tail, `.newerFormat` for a log written by a newer build, `.notAStoreFile` for a foreign header,
    ///   `.locked` if another store has it open, `.io` on system-call failures, or whatever `replay` throws.
    ///   In every case the file is left as it was.
    public static func open(
        path: String, fsync policy: FsyncPolicy = .always, replay: (LogRecord) throws -> Void
    ) throws -> (AppendOnlyLog, OpenReport) {
        try open(path: path, fsync: policy, fileSystem: POSIXFileSystem()) { record, _ in try replay(record) }
    }

    /// ``open(path:fsync:replay:)`` on any file system; `replay` also gets each record's size in the file.
    static func open(
        path: String, fsync policy: FsyncPolicy, fileSystem fs: any LogFileSystem,
        replay: (LogRecord, Int) throws -> Void
    ) throws -> (AppendOnlyLog, OpenReport) {
        let directory = Self.directory(of: path)
        let existed = fs.fileExists(path)
        let fd = try fs.openLocked(path, create: true)
        var handedOver = false
        defer { if !handedOver { fs.close(fd) } }
        // Only now, holding the lock, is a `.compact` file known to be stale (no compaction can be running).
        try fs.unlinkIfPresent(path + ".compact")

        var report = OpenReport(
            path: path, recordsLoaded: 0, entriesLoaded: 0, bytesTruncated: 0, truncation: nil, created: !existed)
        let fileSize = try fs.size(fd, path: path)
        var reader = LogReader(fileSystem: fs, handle: fd, path: path, fileSize: fileSize)
        let headerBytes = try reader.bytes(at: 0, count: headerSize)
        var goodSize = headerSize
        if headerBytes.count < headerSize {
            // Empty, or a header torn while the log was being created (no record can exist yet).
            guard headerBytes.elementsEqual(magic.prefix(headerBytes.count)) else {
                throw MemoryStoreError(.notAStoreFile, "\(path) is not a memory log (\(fileSize) bytes, bad header)")
            }
            if fileSize > 0 {
                report.truncation = .init(
                    recordIndex: 0, offset: 0, problem: "truncated header (\(fileSize) of \(headerSize) bytes)")
                report.bytesTruncated = fileSize
                try fs.truncate(fd, to: 0, path: path)
            }
            try fs.append(fd, magic, path: path)
            try fs.fsync(fd, path: path)
            try fs.fsyncDirectory(directory)
        } else {
            try checkHeader(headerBytes, path: path, fileSize: fileSize)
            var index = 0
            while goodSize < fileSize {
                switch try LogFrame.inspect(at: goodSize, &reader) {
                case .valid(let frame, let end):
                    switch LogRecord.read(frame.dropFirst(LogFrame.headerSize)) {
                    case .record(let record):
                        try replay(record, end - goodSize)
                    case .newerKind:
                        report.newerRecordsSkipped += 1
                    case .undecodable(let message):
                        throw try damage(
                            at: goodSize, index: index, problem: "undecodable record: \(message)", &reader, path: path)
                    }
                    goodSize = end
                    index += 1
                case .incomplete(let problem):
                    guard try LogSalvageWalk.countValidRecords(from: goodSize + 1, &reader) == 0 else {
                        throw try damage(at: goodSize, index: index, problem: problem, &reader, path: path)
                    }
                    // A torn tail: the file ends inside its last record and nothing valid follows.
                    report.truncation = .init(recordIndex: index, offset: goodSize, problem: problem)
                    report.bytesTruncated = fileSize - goodSize
                    try fs.truncate(fd, to: goodSize, path: path)
                    try fs.fsync(fd, path: path)
                    report.recordsLoaded = index - report.newerRecordsSkipped
                    handedOver = true
                    return (AppendOnlyLog(path: path, fd: fd, size: goodSize, fsyncPolicy: policy, fileSystem: fs), report)
                case .damaged(let problem):
                    throw try damage(at: goodSize, index: index, problem: problem, &reader, path: path)
                }
            }
            report.recordsLoaded = index - report.newerRecordsSkipped
        }
        handedOver = true
        return (AppendOnlyLog(path: path, fd: fd, size: goodSize, fsyncPolicy: policy, fileSystem: fs), report)
    }

    /// Refuses a foreign header or a newer format version.
    static func checkHeader(_ header: ArraySlice<UInt8>, path: String, fileSize: Int) throws(MemoryStoreError) {
        guard !header.elementsEqual(magic) else { return }
        // A header torn after the magic has no version bytes: not a log (repair reads headers of any length).
        if header.count >= headerSize, header.prefix(6).elementsEqual(magic.prefix(6)) {
            let version = UInt16(header[header.startIndex + 6]) | UInt16(header[header.startIndex + 7]) << 8
            if version > formatVersion {
                throw MemoryStoreError(
                    .newerFormat,
                    "\(path) was written by a newer build (log format version \(version); this build reads version "
                        + "\(formatVersion)). Run a build that supports it; the file was not changed.")
            }
            throw MemoryStoreError(
                .notAStoreFile, "\(path): unknown log format version \(version) (this build reads \(formatVersion))")
        }
        throw MemoryStoreError(
            .notAStoreFile,
            "\(path) is not a memory log (bad header, \(fileSize) bytes); the file was not changed. If it is a "
                + "damaged memory log, repair salvages its records (router-host repair --data DIR)")
    }

    private static func damage(
        at offset: Int, index: Int, problem: String, _ reader: inout LogReader, path: String
    ) throws(MemoryStoreError) -> MemoryStoreError {
        let following = try LogSalvageWalk.countValidRecords(from: offset + 1, &reader)
        let damage = LogDamage(
            path: path, recordIndex: index, offset: offset, problem: problem, validRecordsAfter: following)
        return MemoryStoreError(
            .corrupt,
            "\(damage). The log is damaged (not a torn tail): nothing was changed. Repair it to keep every intact "
                + "record (router-host repair --data DIR copies the log aside first)",
            damage: damage)
    }

    /// Current file size in bytes (header included).
    public var size: Int { state.withLock { $0.size } }

    /// Appends `records` with one write and syncs them per ``fsyncPolicy`` before returning.
    /// - Returns: each record's size in the file, in order.
    @discardableResult
    public func append(_ records: [LogRecord]) throws(MemoryStoreError) -> [Int] {
        guard !records.isEmpty else { return [] }
        let (bytes, sizes) = try Self.frameWithSizes(records)
        let scheduleAfter: Duration? = try state.withLock { state throws(MemoryStoreError) -> Duration? in
            try Self.checkUsable(state, path: path)
            do throws(MemoryStoreError) {
                try fileSystem.append(state.fd, bytes, path: path)
            } catch {
                // Cut a partial write off, so that later appends do not follow garbage.
                do throws(MemoryStoreError) {
                    try fileSystem.truncate(state.fd, to: state.size, path: path)
                } catch {
                    state.failure = "a failed write could not be rolled back: \(error.message)"
                }
                throw error
            }
            state.size += bytes.count
            state.dirty = true
            switch fsyncPolicy.kind {
            case .always:
                try syncLocked(&state)
                return nil
            case .never:
                return nil
            case .interval(let period):
                let elapsed = state.lastSync.duration(to: fileSystem.now())
                if elapsed >= period {
                    try syncLocked(&state)
                    return nil
                }
                if state.syncScheduled { return nil }
                state.syncScheduled = true
                return period - elapsed
            }
        }
        if let scheduleAfter { scheduleSync(after: scheduleAfter) }
        return sizes
    }

    /// Forces every appended record to stable storage now.
    public func sync() throws(MemoryStoreError) {
        try state.withLock { state throws(MemoryStoreError) in
            try Self.checkUsable(state, path: path)
            try syncLocked(&state)
        }
    }

    /// Syncs pending appends and closes the file; later calls throw ``MemoryStoreError/Code/closed``.
    /// Closing twice is a no-op.
    public func close() throws(MemoryStoreError) {
        try state.withLock { state throws(MemoryStoreError) in
            guard state.fd >= 0 else { return }
            defer {
                fileSystem.close(state.fd)
                state.fd = -1
            }
            if state.dirty && state.failure == nil { try syncLocked(&state) }
        }
    }

    // MARK: - Internals

    static func checkUsable(_ state: State, path: String) throws(MemoryStoreError) {
        guard state.fd >= 0 else { throw MemoryStoreError(.closed, "\(path) is closed") }
        if let failure = state.failure { throw MemoryStoreError(.failed, "\(path): \(failure); reopen the store") }
    }

    func syncLocked(_ state: inout State) throws(MemoryStoreError) {
        guard state.dirty else { return }
        do {
            try fileSystem.fsync(state.fd, path: path)
        } catch {
            // After a failed fsync the kernel may have dropped the dirty pages: retrying would lie.
            state.failure = "fsync failed: \(error.message)"
            throw error
        }
        state.dirty = false
        state.lastSync = fileSystem.now()
    }

    private func scheduleSync(after delay: Duration) {
        fileSystem.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.state.withLock { state in
                state.syncScheduled = false
                guard state.fd >= 0, state.failure == nil else { return }
                try? self.syncLocked(&state)
            }
        }
    }

    /// Frames records: `length, crc(length ‖ payload), payload` each.
    static func frame(_ records: [LogRecord]) throws(MemoryStoreError) -> [UInt8] {
        try frameWithSizes(records).bytes
    }

    /// Frames records and returns each one's framed size.
    static func frameWithSizes(_ records: [LogRecord]) throws(MemoryStoreError) -> (bytes: [UInt8], sizes: [Int]) {
        var out: [UInt8] = []
        var sizes: [Int] = []
        sizes.reserveCapacity(records.count)
        var payload: [UInt8] = []
        for record in records {
            payload.removeAll(keepingCapacity: true)
            record.encode(into: &payload)
            guard payload.count <= maxPayloadBytes else {
                throw MemoryStoreError(.invalidEntry, "a record of \(payload.count) bytes exceeds the \(maxPayloadBytes)-byte limit")
            }
            var lengthBytes: [UInt8] = []
            BinaryCoding.appendUInt32(UInt32(payload.count), to: &lengthBytes)
            var crc = lengthBytes.withUnsafeBytes { CRC32.update(0, $0) }
            crc = payload.withUnsafeBytes { CRC32.update(crc, $0) }
            out += lengthBytes
            BinaryCoding.appendUInt32(crc, to: &out)
            out += payload
            sizes.append(recordHeaderSize + payload.count)
        }
        return (out, sizes)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
