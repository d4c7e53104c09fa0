/// A read-only, windowed, random-access view of a log file (reads of at least 1 MiB through the
/// ``LogFileSystem``), used by the open-time scan, the damage report and repair.
struct LogReader {
    let fileSystem: any LogFileSystem
    let handle: Int32
    let path: String
    /// The file's size when the reader was made; nothing past it is read.
    let fileSize: Int
    private var window: [UInt8] = []
    private var windowStart = 0

    init(fileSystem: any LogFileSystem, handle: Int32, path: String, fileSize: Int) {
        self.fileSystem = fileSystem
        self.handle = handle
        self.path = path
        self.fileSize = fileSize
    }

    /// The `count` bytes at `offset`, or fewer at the end of the file.
    mutating func bytes(at offset: Int, count: Int) throws(MemoryStoreError) -> ArraySlice<UInt8> {
        let end = min(fileSize, offset + count)
        guard offset < end else { return [] }
        if offset < windowStart || end > windowStart + window.count {
            window = try fileSystem.read(handle, at: offset, count: max(1 << 20, end - offset), path: path)
            windowStart = offset
        }
        let available = min(end, windowStart + window.count)
        return window[(offset - windowStart)..<(available - windowStart)]
    }
}

/// What lies at one offset of a log: a whole record with a valid checksum, a record the file ends inside, or
/// damage. Pure framing: whether the payload decodes is ``LogRecord``'s business.
enum LogFrame: Equatable {
    /// A record whose checksum matches (`frame`: its header and payload); the next record starts at `end`.
    case valid(frame: ArraySlice<UInt8>, end: Int)
    /// The file ends inside this record (a torn tail if nothing valid follows).
    case incomplete(String)
    /// An implausible length or a checksum mismatch.
    case damaged(String)

    /// Frames are `length: UInt32 LE, crc: UInt32 LE (of the length bytes and the payload), payload`.
    static let headerSize = 8

    /// Inspects the record that would start at `offset`.
    static func inspect(at offset: Int, _ reader: inout LogReader) throws(MemoryStoreError) -> LogFrame {
        let remaining = reader.fileSize - offset
        guard remaining >= headerSize else {
            return .incomplete("truncated record header (\(remaining) of \(headerSize) bytes)")
        }
        let header = try reader.bytes(at: offset, count: headerSize)
        let length = Int(littleEndianUInt32(header, at: 0))
        let stored = littleEndianUInt32(header, at: 4)
        guard length > 0, length <= AppendOnlyLog.maxPayloadBytes else {
            return .damaged("implausible payload length \(length)")
        }
        guard headerSize + length <= remaining else {
            return .incomplete("truncated payload (needs \(length) bytes, \(remaining - headerSize) available)")
        }
        let frame = try reader.bytes(at: offset, count: headerSize + length)
        let crc = frame.withUnsafeBytes { bytes in
            CRC32.update(
                CRC32.update(0, UnsafeRawBufferPointer(rebasing: bytes[0..<4])),
                UnsafeRawBufferPointer(rebasing: bytes[headerSize...]))
        }
        guard crc == stored else { return .damaged("checksum mismatch") }
        return .valid(frame: frame, end: offset + headerSize + length)
    }

    private static func littleEndianUInt32(_ bytes: ArraySlice<UInt8>, at position: Int) -> UInt32 {
        let base = bytes.startIndex + position
        return UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16
            | UInt32(bytes[base + 3]) << 24
    }
}

/// Walks a log from an offset to its end, resynchronising after damage: where no valid record starts, it
/// moves on byte by byte until one does. Every byte ends up either in a valid record or in a damaged region.
struct LogSalvageWalk {
    /// What the walk met.
    enum Event {
        /// A record with a valid checksum at `offset`: its whole frame (header and payload).
        case record(offset: Int, frame: ArraySlice<UInt8>)
        /// Bytes `offset ..< offset + length` belong to no valid record.
        case damaged(offset: Int, length: Int)
    }

    /// Calls `visit` for each valid record and each damaged region from `start` to the end of the file.
    static func walk(
        from start: Int, _ reader: inout LogReader, _ visit: (Event) throws(MemoryStoreError) -> Void
    ) throws(MemoryStoreError) {
        var offset = start
        var damagedSince: Int?
        while offset < reader.fileSize {
            if case .valid(let frame, let end) = try LogFrame.inspect(at: offset, &reader) {
                if let since = damagedSince {
                    try visit(.damaged(offset: since, length: offset - since))
                    damagedSince = nil
                }
                try visit(.record(offset: offset, frame: frame))
                offset = end
            } else {
                if damagedSince == nil { damagedSince = offset }
                offset += 1
            }
        }
        if let since = damagedSince { try visit(.damaged(offset: since, length: reader.fileSize - since)) }
    }

    /// How many valid records lie between `start` and the end of the file.
    static func countValidRecords(from start: Int, _ reader: inout LogReader) throws(MemoryStoreError) -> Int {
        var count = 0
        try walk(from: start, &reader) { event throws(MemoryStoreError) in
            if case .record = event { count += 1 }
        }
        return count
    }
}
