/// The binary form of a batch of ``LogRecord``s shipped between hosts (one Redis Stream entry) or kept
/// in a snapshot: a format byte, a record count, then each record's length and the same payload the local
/// log writes (``LogRecord``'s encoding), so both backends share one definition of an entry's bytes.
///
/// Layout: `0x01` · varint count · count × (varint length · payload). The stream entry's id gives the order;
/// there is no checksum here because Redis stores and replicates bytes exactly.
public enum ReplicatedBatch {
    /// The format byte this build writes and reads.
    public static let format: UInt8 = 1

    /// Encodes `records`.
    public static func encode(_ records: [LogRecord]) -> [UInt8] {
        var bytes: [UInt8] = [format]
        BinaryCoding.appendVarint(UInt64(records.count), to: &bytes)
        var payload: [UInt8] = []
        for record in records {
            payload.removeAll(keepingCapacity: true)
            record.encode(into: &payload)
            BinaryCoding.appendVarint(UInt64(payload.count), to: &bytes)
            bytes.append(contentsOf: payload)
        }
        return bytes
    }

    /// Decodes a batch written by ``encode(_:)``.
    /// - Throws: ``MemoryStoreError`` `.corrupt` naming the record and what was wrong, `.newerFormat` for a
    ///   format byte this build does not know.
    public static func decode(_ bytes: [UInt8]) throws(MemoryStoreError) -> [LogRecord] {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(BinaryCoding.DecodeError) -> [LogRecord] in
                var reader = BinaryCoding.Reader(bytes: raw)
                let version = try reader.readByte("format")
                guard version == format else {
                    throw BinaryCoding.DecodeError(message: "format \(version) (this build reads format \(format))")
                }
                let count = try reader.readCount("record count", elementSize: 2)
                var records: [LogRecord] = []
                records.reserveCapacity(count)
                for index in 0..<count {
                    let length = try reader.readCount("length of record \(index)", elementSize: 1)
                    let start = reader.offset
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    do throws(BinaryCoding.DecodeError) {
                        records.append(try LogRecord.decode(slice))
                    } catch {
                        throw BinaryCoding.DecodeError(message: "record \(index): \(error.message)")
                    }
                    reader.offset += length  // readCount checked that `length` bytes are left
                }
                guard reader.offset == raw.count else {
                    throw BinaryCoding.DecodeError(message: "\(raw.count - reader.offset) trailing bytes")
                }
                return records
            }
        }
        do throws(BinaryCoding.DecodeError) {
            return try result.get()
        } catch {
            if error.message.hasPrefix("format ") { throw MemoryStoreError(.newerFormat, "replicated batch: \(error.message)") }
            throw MemoryStoreError(.corrupt, "replicated batch: \(error.message)")
        }
    }
}
