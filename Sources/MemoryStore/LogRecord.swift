import Foundation

/// One record of the append-only log: an upsert of a whole entry, or the deletion of an id.
///
/// Binary payload (all integers little-endian; `uvarint` is unsigned LEB128; a string is a `uvarint` byte
/// count followed by UTF-8):
///
/// ```
/// upsert: 0x01, id: string, text: string, tagCount: uvarint, tags: string × tagCount,
///         createdAt: UInt64 (bit pattern of Date.timeIntervalSince1970, a Double),
///         hasEmbedding: UInt8 (0 | 1), [count: uvarint, values: UInt32 (Float bit patterns) × count]
/// delete: 0x02, id: string
/// ```
///
/// The payload must be consumed exactly; trailing bytes are an error. Framing and checksums are the log's
/// (see ``AppendOnlyLog``).
///
/// **Forward compatibility.** The first byte is the record's kind. A newer build that adds a record type gives
/// it a new kind; this build keeps such records in the log and skips them with a warning
/// (``OpenReport/newerRecordsSkipped``). A change that older builds must not read at all bumps the log
/// header's format version instead, which they refuse.
public enum LogRecord: Sendable, Equatable {
    /// Add or replace the entry with this id.
    case upsert(MemoryEntry)
    /// Remove the entry with this id (a no-op if absent).
    case delete(id: String)

    static let upsertKind: UInt8 = 1
    static let deleteKind: UInt8 = 2

    /// Appends the binary payload to `buffer`.
    func encode(into buffer: inout [UInt8]) {
        switch self {
        case .upsert(let entry):
            buffer.append(Self.upsertKind)
            BinaryCoding.appendString(entry.id, to: &buffer)
            BinaryCoding.appendString(entry.text, to: &buffer)
            BinaryCoding.appendVarint(UInt64(entry.tags.count), to: &buffer)
            for tag in entry.tags { BinaryCoding.appendString(tag, to: &buffer) }
            BinaryCoding.appendUInt64(entry.createdAt.timeIntervalSince1970.bitPattern, to: &buffer)
            if let embedding = entry.embedding {
                buffer.append(1)
                BinaryCoding.appendVarint(UInt64(embedding.count), to: &buffer)
                buffer.reserveCapacity(buffer.count + 4 * embedding.count)
                for value in embedding { BinaryCoding.appendUInt32(value.bitPattern, to: &buffer) }
            } else {
                buffer.append(0)
            }
        case .delete(let id):
            buffer.append(Self.deleteKind)
            BinaryCoding.appendString(id, to: &buffer)
        }
    }

    /// The highest record kind this build knows. A payload whose kind byte is higher was written by a newer
    /// build (a record type added since): it is kept in the log and skipped, never treated as damage.
    static let newestKnownKind: UInt8 = deleteKind

    /// How this build reads a payload whose checksum is valid.
    enum Reading {
        /// A record of a kind this build knows.
        case record(LogRecord)
        /// A record of a kind added by a newer build: keep it, skip it.
        case newerKind(UInt8)
        /// A known kind that does not decode (a bug in the writer, never a torn write: the checksum matched).
        case undecodable(String)
    }

    /// Classifies one checksummed payload (see ``Reading``).
    static func read(_ payload: ArraySlice<UInt8>) -> Reading {
        guard let kind = payload.first else { return .undecodable("empty payload") }
        if kind > newestKnownKind { return .newerKind(kind) }
        let result = payload.withUnsafeBytes { bytes in
            Result { () throws(BinaryCoding.DecodeError) -> LogRecord in try decode(bytes) }
        }
        switch result {
        case .success(let record): return .record(record)
        case .failure(let error): return .undecodable(error.message)
        }
    }

    /// Decodes one payload; the error message says what was wrong and at which payload offset.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(BinaryCoding.DecodeError) -> LogRecord {
        var reader = BinaryCoding.Reader(bytes: bytes)
        let kind = try reader.readByte("record kind")
        let record: LogRecord
        switch kind {
        case upsertKind:
            let id = try reader.readString("id")
            let text = try reader.readString("text")
            let tagCount = try reader.readCount("tag count", elementSize: 1)
            var tags: [String] = []
            tags.reserveCapacity(tagCount)
            for _ in 0..<tagCount { tags.append(try reader.readString("tag")) }
            let seconds = Double(bitPattern: try reader.readUInt64("createdAt"))
            var embedding: [Float]?
            switch try reader.readByte("embedding flag") {
            case 0: embedding = nil
            case 1:
                let count = try reader.readCount("embedding length", elementSize: 4)
                var values = [Float](repeating: 0, count: count)
                for index in 0..<count { values[index] = Float(bitPattern: try reader.readUInt32("embedding")) }
                embedding = values
            case let other:
                throw BinaryCoding.DecodeError(message: "embedding flag \(other) is neither 0 nor 1")
            }
            record = .upsert(
                MemoryEntry(
                    id: id, text: text, tags: tags, createdAt: Date(timeIntervalSince1970: seconds),
                    embedding: embedding))
        case deleteKind:
            record = .delete(id: try reader.readString("id"))
        default:
            throw BinaryCoding.DecodeError(message: "unknown record kind \(kind)")
        }
        guard reader.offset == bytes.count else {
            throw BinaryCoding.DecodeError(message: "\(bytes.count - reader.offset) trailing bytes")
        }
        return record
    }
}

/// Little-endian integers, LEB128 varints and length-prefixed UTF-8 strings.
enum BinaryCoding {
    struct DecodeError: Error {
        var message: String
    }

    static func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    static func appendUInt64(_ value: UInt64, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    static func appendVarint(_ value: UInt64, to buffer: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    static func appendString(_ string: String, to buffer: inout [UInt8]) {
        var string = string
        string.withUTF8 { utf8 in
            appendVarint(UInt64(utf8.count), to: &buffer)
            buffer.append(contentsOf: utf8)
        }
    }

    /// A bounds-checked cursor over a payload.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        private func need(_ count: Int, _ field: String) throws(DecodeError) {
            guard count <= bytes.count - offset else {
                throw DecodeError(message: "\(field) at payload offset \(offset) needs \(count) bytes, \(bytes.count - offset) left")
            }
        }

        mutating func readByte(_ field: String) throws(DecodeError) -> UInt8 {
            try need(1, field)
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func readUInt32(_ field: String) throws(DecodeError) -> UInt32 {
            try need(4, field)
            defer { offset += 4 }
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }

        mutating func readUInt64(_ field: String) throws(DecodeError) -> UInt64 {
            try need(8, field)
            defer { offset += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func readVarint(_ field: String) throws(DecodeError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = try readByte(field)
                guard shift < 64 else { throw DecodeError(message: "\(field): varint longer than 10 bytes") }
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }

        /// A count of elements that must fit in the remaining bytes (guards allocations against garbage).
        mutating func readCount(_ field: String, elementSize: Int) throws(DecodeError) -> Int {
            let start = offset
            let count = try readVarint(field)
            guard count <= UInt64(bytes.count - offset) / UInt64(elementSize) else {
                throw DecodeError(message: "\(field) \(count) at payload offset \(start) exceeds the payload")
            }
            return Int(count)
        }

        mutating func readString(_ field: String) throws(DecodeError) -> String {
            let length = try readCount("\(field) length", elementSize: 1)
            let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
            guard let string = String(validating: slice, as: UTF8.self) else {
                throw DecodeError(message: "\(field) at payload offset \(offset) is not valid UTF-8")
            }
            offset += length
            return string
        }
    }
}
