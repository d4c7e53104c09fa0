import Dispatch
import Glibc
import Synchronization

/// A durable append-only file of checksummed records (upserts and deletes of memory entries).
///
/// File layout: an 8-byte header `"MEMLOG"` + version (UInt16 LE, currently 1), then records:
///
/// ```
/// length: UInt32 LE   payload byte count, 1 … 64 MiB
/// crc:    UInt32 LE   CRC32 (IEEE) of the 4 length bytes followed by the payload
/// payload             see LogRecord
/// ```
///
/// The checksum covers the length too, so a corrupted length cannot silently re-frame the rest of the file.
///
/// **Recovery.** ``open(path:fsync:replay:)`` scans from the start and stops at the first record that is
/// torn (the file ends inside it), has an implausible length, fails its checksum or does not decode. It
/// truncates the file at that record's offset, fsyncs, and reports it in ``OpenReport/truncation`` (e.g.
/// `record 1203 at offset 88412: checksum mismatch`). Everything before it is replayed; nothing after it is
/// (a record after a corrupt one may be intact, but replaying it would apply writes out of order).
///
/// **Appends.** A batch of records is written with one `write(2)` and synced per ``FsyncPolicy``. A crash can
/// leave a prefix of an unacknowledged batch on disk (whole records only, after recovery); an acknowledged
/// batch is always complete. If a write or fsync fails, the log truncates back to its last good size and, if
/// that is impossible or the failure was an fsync, refuses all further writes (``MemoryStoreError/Code/failed``).
///
/// **Compaction.** ``rewrite(_:)`` writes the given records to `<path>.compact`, fsyncs it, renames it over
/// the log atomically and fsyncs the directory: a crash leaves either the old or the new log, and a leftover
/// `.compact` file is deleted on the next open.
///
/// One process at a time: the file is `flock`ed while open (``MemoryStoreError/Code/locked``).
/// Thread-safe: all state is behind a `Mutex`; callers serialize appends with compaction themselves if they
/// need an order across the two (``MemoryStore`` does).
public final class AppendOnlyLog: Sendable {
    static let magic: [UInt8] = Array("MEMLOG".utf8) + [1, 0]
    static let headerSize = 8
    static let recordHeaderSize = 8
    /// Largest accepted payload; anything larger in a record header is treated as corruption.
    public static let maxPayloadBytes = 64 << 20

    private struct State {
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
    private let state: Mutex<State>

    private init(path: String, fd: Int32, size: Int, fsyncPolicy: FsyncPolicy) {
        self.path = path
        self.fsyncPolicy = fsyncPolicy
        self.state = Mutex(State(fd: fd, size: size, lastSync: .now))
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 {
                if state.dirty { _ = Glibc.fsync(state.fd) }
                Glibc.close(state.fd)
                state.fd = -1
            }
        }
    }

    /// Opens (or creates) the log at `path`, replays every good record through `replay` in file order, and
    /// truncates a torn or corrupt tail (reported, never silent).
    ///
    /// - Throws: ``MemoryStoreError`` `.notAStoreFile` if the file has a foreign header (it is left untouched),
    ///   `.locked` if another store has it open, `.io` on system-call failures, or whatever `replay` throws
    ///   (the file is then closed, unmodified except for a truncated tail).
    public static func open(
        path: String, fsync policy: FsyncPolicy = .always, replay: (LogRecord) throws -> Void
    ) throws -> (AppendOnlyLog, OpenReport) {
        let directory = Self.directory(of: path)
        try FileIO.unlinkIfPresent(path + ".compact")
        let fd = try FileIO.open(path, O_RDWR | O_CREAT | O_APPEND)
        var handedOver = false
        defer { if !handedOver { Glibc.close(fd) } }
        try FileIO.lockExclusive(fd, path: path)

        var report = OpenReport(
            path: path, recordsLoaded: 0, entriesLoaded: 0, bytesTruncated: 0, truncation: nil, created: false)
        let fileSize = try FileIO.size(fd, path: path)
        var scanner = Scanner(fd: fd, path: path)
        let headerBytes = try scanner.take(upTo: headerSize)
        var goodSize: Int
        if headerBytes.count < headerSize {
            // Empty, or a header torn while the log was being created.
            guard headerBytes.elementsEqual(magic.prefix(headerBytes.count)) else {
                throw MemoryStoreError(.notAStoreFile, "\(path) is not a memory log (\(fileSize) bytes, bad header)")
            }
            if fileSize > 0 {
                report.truncation = .init(
                    recordIndex: 0, offset: 0, problem: "truncated header (\(fileSize) of \(headerSize) bytes)")
                report.bytesTruncated = fileSize
                try FileIO.truncate(fd, to: 0, path: path)
            }
            try FileIO.writeAll(fd, magic, path: path)
            try FileIO.fsync(fd, path: path)
            try FileIO.fsyncDirectory(directory)
            report.created = true
            goodSize = headerSize
        } else {
            guard headerBytes.elementsEqual(magic) else {
                if headerBytes.prefix(6).elementsEqual(magic.prefix(6)) {
                    throw MemoryStoreError(
                        .notAStoreFile, "\(path): unsupported log version \(headerBytes[6]) (this build reads 1)")
                }
                throw MemoryStoreError(.notAStoreFile, "\(path) is not a memory log (bad magic)")
            }
            goodSize = headerSize
            var index = 0
            scan: while true {
                let header = try scanner.take(upTo: recordHeaderSize)
                if header.isEmpty { break scan }
                let problem: String?
                if header.count < recordHeaderSize {
                    problem = "truncated record header (\(header.count) of \(recordHeaderSize) bytes)"
                } else {
                    let length = header.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
                    let stored = header.withUnsafeBytes {
                        UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                    }
                    if length == 0 || length > maxPayloadBytes {
                        problem = "implausible payload length \(length)"
                    } else {
                        let payload = try scanner.take(upTo: length)
                        if payload.count < length {
                            problem = "truncated payload (needs \(length) bytes, \(payload.count) available)"
                        } else {
                            let crc = payload.withUnsafeBytes { payloadBytes in
                                header.withUnsafeBytes { CRC32.update(CRC32.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<4])), payloadBytes) }
                            }
                            if crc != stored {
                                problem = "checksum mismatch"
                            } else {
                                do {
                                    let record = try payload.withUnsafeBytes { bytes throws(BinaryCoding.DecodeError) in
                                        try LogRecord.decode(bytes)
                                    }
                                    try replay(record)
                                    problem = nil
                                } catch let error as BinaryCoding.DecodeError {
                                    problem = "undecodable payload: \(error.message)"
                                }
                            }
                        }
                    }
                }
                if let problem {
                    report.truncation = .init(recordIndex: index, offset: goodSize, problem: problem)
                    report.bytesTruncated = fileSize - goodSize
                    try FileIO.truncate(fd, to: goodSize, path: path)
                    try FileIO.fsync(fd, path: path)
                    break scan
                }
                goodSize += recordHeaderSize + header.withUnsafeBytes {
                    Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)))
                }
                index += 1
            }
            report.recordsLoaded = index
        }
        handedOver = true
        return (AppendOnlyLog(path: path, fd: fd, size: goodSize, fsyncPolicy: policy), report)
    }

    /// Current file size in bytes (header included).
    public var size: Int { state.withLock { $0.size } }

    /// Appends `records` with one write and syncs them per ``fsyncPolicy`` before returning.
    public func append(_ records: [LogRecord]) throws(MemoryStoreError) {
        guard !records.isEmpty else { return }
        let bytes = try Self.frame(records)
        let scheduleAfter: Duration? = try state.withLock { state throws(MemoryStoreError) -> Duration? in
            try Self.checkUsable(state, path: path)
            do throws(MemoryStoreError) {
                try FileIO.writeAll(state.fd, bytes, path: path)
            } catch {
                // Cut a partial write off, so that later appends do not follow garbage.
                do throws(MemoryStoreError) {
                    try FileIO.truncate(state.fd, to: state.size, path: path)
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
                let elapsed = state.lastSync.duration(to: .now)
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
    }

    /// Forces every appended record to stable storage now.
    public func sync() throws(MemoryStoreError) {
        try state.withLock { state throws(MemoryStoreError) in
            try Self.checkUsable(state, path: path)
            try syncLocked(&state)
        }
    }

    /// Replaces the log's content with `records` atomically (compaction): temp file, fsync, rename, directory
    /// fsync. Returns the new size. The lock moves to the new file before the rename.
    @discardableResult
    public func rewrite(_ records: some Sequence<LogRecord>) throws(MemoryStoreError) -> Int {
        try state.withLock { state throws(MemoryStoreError) -> Int in
            try Self.checkUsable(state, path: path)
            let temporary = path + ".compact"
            try FileIO.unlinkIfPresent(temporary)
            let fd = try FileIO.open(temporary, O_RDWR | O_CREAT | O_APPEND | O_TRUNC)
            var keep = false
            defer {
                if !keep {
                    Glibc.close(fd)
                    _ = Glibc.unlink(temporary)
                }
            }
            try FileIO.lockExclusive(fd, path: temporary)
            var buffer = Self.magic
            var size = 0
            var pending: [LogRecord] = []
            func flush() throws(MemoryStoreError) {
                if !pending.isEmpty {
                    buffer += try Self.frame(pending)
                    pending.removeAll(keepingCapacity: true)
                }
                try FileIO.writeAll(fd, buffer, path: temporary)
                size += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
            for record in records {
                pending.append(record)
                if pending.count == 4096 { try flush() }
            }
            try flush()
            try FileIO.fsync(fd, path: temporary)
            try FileIO.rename(temporary, path)
            keep = true
            Glibc.close(state.fd)
            state.fd = fd
            state.size = size
            state.dirty = false
            state.lastSync = .now
            do throws(MemoryStoreError) {
                try FileIO.fsyncDirectory(Self.directory(of: path))
            } catch {
                state.failure = "the directory could not be synced after compaction: \(error.message)"
                throw error
            }
            return size
        }
    }

    /// Syncs pending appends and closes the file; later calls throw ``MemoryStoreError/Code/closed``.
    /// Closing twice is a no-op.
    public func close() throws(MemoryStoreError) {
        try state.withLock { state throws(MemoryStoreError) in
            guard state.fd >= 0 else { return }
            defer {
                Glibc.close(state.fd)
                state.fd = -1
            }
            if state.dirty && state.failure == nil { try syncLocked(&state) }
        }
    }

    // MARK: - Internals

    private static func checkUsable(_ state: State, path: String) throws(MemoryStoreError) {
        guard state.fd >= 0 else { throw MemoryStoreError(.closed, "\(path) is closed") }
        if let failure = state.failure { throw MemoryStoreError(.failed, "\(path): \(failure); reopen the store") }
    }

    private func syncLocked(_ state: inout State) throws(MemoryStoreError) {
        guard state.dirty else { return }
        do {
            try FileIO.fsync(state.fd, path: path)
        } catch {
            // After a failed fsync the kernel may have dropped the dirty pages: retrying would lie.
            state.failure = "fsync failed: \(error.message)"
            throw error
        }
        state.dirty = false
        state.lastSync = .now
    }

    private func scheduleSync(after delay: Duration) {
        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(max(0, Int(nanoseconds)))) { [weak self] in
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
        var out: [UInt8] = []
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
        }
        return out
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Buffered sequential reader used by the open-time scan (reads of at least 1 MiB).
    private struct Scanner {
        let fd: Int32
        let path: String
        var buffer: [UInt8] = []
        /// Next unread byte in `buffer`.
        var start = 0
        /// End of the bytes read into `buffer`.
        var filled = 0
        var atEnd = false

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        /// Returns the next `count` bytes, or fewer at end of file.
        mutating func take(upTo count: Int) throws(MemoryStoreError) -> ArraySlice<UInt8> {
            if filled - start < count && !atEnd { try refill(atLeast: count) }
            let end = min(filled, start + count)
            defer { start = end }
            return buffer[start..<end]
        }

        /// Moves the unread bytes into a fresh buffer and reads until it is full or the file ends.
        private mutating func refill(atLeast count: Int) throws(MemoryStoreError) {
            let remaining = filled - start
            var fresh = [UInt8](repeating: 0, count: max(1 << 20, count))
            let fd = self.fd
            let path = self.path
            let old = buffer
            let oldStart = start
            let result = fresh.withUnsafeMutableBytes { target in
                Result { () throws(MemoryStoreError) -> (Int, Bool) in
                    old.withUnsafeBytes { source in
                        if remaining > 0 {
                            target.baseAddress!.copyMemory(from: source.baseAddress! + oldStart, byteCount: remaining)
                        }
                    }
                    var total = remaining
                    while total < target.count {
                        let read = try FileIO.read(
                            fd, into: UnsafeMutableRawBufferPointer(rebasing: target[total...]), path: path)
                        if read == 0 { return (total, true) }
                        total += read
                    }
                    return (total, false)
                }
            }
            (filled, atEnd) = try result.get()
            buffer = fresh
            start = 0
        }
    }
}
