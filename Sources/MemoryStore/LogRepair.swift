import Foundation

/// Salvages a damaged log (`router-host repair`): never run on an open store (it takes the log's lock).
///
/// 1. Scans the whole log, resynchronising after damage (``LogSalvageWalk``). If nothing is damaged, it
///    changes nothing and says so.
/// 2. Copies the log aside, byte for byte, to `<log>.corrupt-<UTC timestamp>` (synced) before touching it. The
///    copy is never deleted.
/// 3. Writes every record whose checksum is valid (records of a newer build included) to `<log>.repair`,
///    syncs it, renames it over the log and syncs the directory. A record with a valid checksum that this
///    build cannot decode is left out (it stays in the copy) and counted.
///
/// A header that is not a memory log's is accepted only if at least one valid record is found after it; a
/// log of a newer format version is refused.
enum LogRepair {
    static func repair(path: String, fileSystem fs: any LogFileSystem, now: Date = Date()) throws(MemoryStoreError)
        -> RepairReport
    {
        guard fs.fileExists(path) else {
            throw MemoryStoreError(.io, "\(path) does not exist: there is nothing to repair")
        }
        let handle = try fs.openLocked(path, create: false)
        defer { fs.close(handle) }
        let fileSize = try fs.size(handle, path: path)
        var reader = LogReader(fileSystem: fs, handle: handle, path: path, fileSize: fileSize)
        var report = RepairReport(path: path)
        let header = try reader.bytes(at: 0, count: AppendOnlyLog.headerSize)
        do throws(MemoryStoreError) {
            try AppendOnlyLog.checkHeader(header, path: path, fileSize: fileSize)
        } catch where error.code == .newerFormat {
            throw error
        } catch {
            report.headerDamaged = true
        }

        // Pass 1: what is there.
        try LogSalvageWalk.walk(from: min(fileSize, AppendOnlyLog.headerSize), &reader) { event throws(MemoryStoreError) in
            switch event {
            case .record(_, let frame):
                if case .undecodable = LogRecord.read(frame.dropFirst(LogFrame.headerSize)) {
                    report.recordsUndecodable += 1
                    report.bytesLost += frame.count
                } else {
                    report.recordsKept += 1
                    report.bytesKept += frame.count
                }
            case .damaged(let offset, let length):
                report.damagedRegions.append(.init(offset: offset, length: length))
                report.bytesLost += length
            }
        }
        if header.count < AppendOnlyLog.headerSize { report.headerDamaged = fileSize > 0 }
        if report.headerDamaged && report.recordsKept == 0 {
            throw MemoryStoreError(
                .notAStoreFile, "\(path) is not a memory log and holds no valid record: nothing to salvage; left untouched")
        }
        guard report.headerDamaged || !report.damagedRegions.isEmpty || report.recordsUndecodable > 0 else {
            return report  // intact: nothing changed, no copy
        }

        // Pass 2: a copy aside, then the salvaged log.
        let copyPath = try copyAside(handle, path: path, size: fileSize, fs: fs, now: now)
        report.copyPath = copyPath
        let temporaryPath = path + ".repair"
        let temporary = try fs.open(temporaryPath, create: true, truncate: true)
        var renamed = false
        defer {
            fs.close(temporary)
            if !renamed { try? fs.unlinkIfPresent(temporaryPath) }
        }
        var buffer = AppendOnlyLog.magic
        try LogSalvageWalk.walk(from: min(fileSize, AppendOnlyLog.headerSize), &reader) { event throws(MemoryStoreError) in
            guard case .record(_, let frame) = event else { return }
            if case .undecodable = LogRecord.read(frame.dropFirst(LogFrame.headerSize)) { return }
            buffer += frame
            if buffer.count >= 4 << 20 {
                try fs.append(temporary, buffer, path: temporaryPath)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try fs.append(temporary, buffer, path: temporaryPath)
        try fs.fsync(temporary, path: temporaryPath)
        try fs.rename(temporaryPath, path)
        renamed = true
        try fs.fsyncDirectory(AppendOnlyLog.directory(of: path))
        report.repaired = true
        return report
    }

    /// Copies the log to `<path>.corrupt-<timestamp>` (a new name, never overwriting) and syncs it.
    private static func copyAside(_ handle: Int32, path: String, size: Int, fs: any LogFileSystem, now: Date) throws(
        MemoryStoreError
    ) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let base = "\(path).corrupt-\(formatter.string(from: now))"
        var copyPath = base
        var attempt = 1
        while fs.fileExists(copyPath) {
            attempt += 1
            copyPath = "\(base)-\(attempt)"
        }
        let copy = try fs.open(copyPath, create: true, truncate: false)
        defer { fs.close(copy) }
        var offset = 0
        while offset < size {
            let chunk = try fs.read(handle, at: offset, count: min(4 << 20, size - offset), path: path)
            guard !chunk.isEmpty else { break }
            try fs.append(copy, chunk, path: copyPath)
            offset += chunk.count
        }
        try fs.fsync(copy, path: copyPath)
        try fs.fsyncDirectory(AppendOnlyLog.directory(of: path))
        return copyPath
    }
}

/// What ``MemoryStore/repair(directory:)`` found and did.
public struct RepairReport: Sendable, Equatable, CustomStringConvertible {
    /// A run of bytes that belongs to no valid record.
    public struct Region: Sendable, Equatable {
        /// Byte offset in the damaged log.
        public var offset: Int
        /// Length in bytes.
        public var length: Int
    }

    /// The log file.
    public var path: String
    /// Where the damaged log was copied before repair (nil when nothing was changed).
    public var copyPath: String?
    /// True when the log was rewritten.
    public var repaired = false
    /// The header was not a valid memory-log header (rewritten).
    public var headerDamaged = false
    /// Records with a valid checksum, kept.
    public var recordsKept = 0
    /// Their bytes.
    public var bytesKept = 0
    /// Records with a valid checksum that this build cannot decode: left out (they stay in the copy).
    public var recordsUndecodable = 0
    /// Damaged byte runs, in file order.
    public var damagedRegions: [Region] = []
    /// Bytes not carried over (damaged regions and undecodable records).
    public var bytesLost = 0

    init(path: String) { self.path = path }

    /// Several lines: kept, lost, where the copy is.
    public var description: String {
        guard repaired else {
            return "\(path) is intact: \(recordsKept) records, nothing to repair (the file was not changed)"
        }
        var lines = ["repaired \(path)"]
        lines.append("  kept: \(recordsKept) record\(recordsKept == 1 ? "" : "s") (\(bytesKept) bytes)")
        var lost = "  lost: \(bytesLost) bytes in \(damagedRegions.count) damaged region\(damagedRegions.count == 1 ? "" : "s")"
        if recordsUndecodable > 0 { lost += " and \(recordsUndecodable) undecodable record(s)" }
        lines.append(lost)
        for region in damagedRegions.prefix(20) {
            lines.append("    offset \(region.offset): \(region.length) bytes")
        }
        if damagedRegions.count > 20 { lines.append("    … \(damagedRegions.count - 20) more") }
        if headerDamaged { lines.append("  the header was damaged and has been rewritten") }
        if let copyPath { lines.append("  the damaged log was copied to \(copyPath) (never deleted by repair)") }
        return lines.joined(separator: "\n")
    }
}
