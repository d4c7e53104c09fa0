/// Why bytes from the server are not valid RESP2: what was wrong and at which offset of the reply.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public let reason: String
    /// Offset from the start of the reply being parsed.
    public let offset: Int

    public var description: String { "invalid RESP at byte \(offset) of a reply: \(reason)" }
}

/// Incremental RESP2 reply parser: feed bytes as they arrive with ``append(_:)``, take replies with
/// ``next()`` (nil means "need more"). Limits are checked as soon as a header announces a size, so a
/// hostile or broken peer cannot make it reserve memory it never sends.
public struct RESPParser: Sendable {
    /// Largest bulk string accepted (Redis's own `proto-max-bulk-len` default is 512 MiB).
    public var maxBulkBytes: Int
    /// Most elements in one array.
    public var maxArrayElements: Int
    /// Deepest nesting of arrays.
    public var maxDepth: Int

    private var buffer: [UInt8] = []
    private var start = 0

    /// A parser with the given limits.
    public init(maxBulkBytes: Int = 512 << 20, maxArrayElements: Int = 16 << 20, maxDepth: Int = 32) {
        self.maxBulkBytes = maxBulkBytes
        self.maxArrayElements = maxArrayElements
        self.maxDepth = maxDepth
    }

    /// Bytes received but not yet consumed by a complete reply.
    public var bufferedBytes: Int { buffer.count - start }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536, start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when more bytes are needed.
    /// - Throws: ``RESPProtocolError`` for bytes that are not RESP2 (the connection must then be dropped).
    public mutating func next() throws(RESPProtocolError) -> RESPValue? {
        var cursor = start
        guard let value = try parse(at: &cursor, depth: 0) else { return nil }
        start = cursor
        return value
    }

    private func fail(_ reason: String, at position: Int) -> RESPProtocolError {
        RESPProtocolError(reason: reason, offset: position - start)
    }

    /// The line starting at `cursor` (without CRLF); nil if its CRLF has not arrived.
    private func line(at cursor: inout Int) throws(RESPProtocolError) -> ArraySlice<UInt8>? {
        var index = cursor
        while index < buffer.count {
            if buffer[index] == 13 {
                guard index + 1 < buffer.count else { return nil }
                guard buffer[index + 1] == 10 else { throw fail("CR not followed by LF", at: index + 1) }
                let slice = buffer[cursor..<index]
                cursor = index + 2
                return slice
            }
            if buffer[index] == 10 { throw fail("LF without CR", at: index) }
            index += 1
        }
        if buffer.count - cursor > 64 << 10 { throw fail("line longer than 64 KiB", at: cursor) }
        return nil
    }

    private func integer(_ digits: ArraySlice<UInt8>, at position: Int) throws(RESPProtocolError) -> Int64 {
        guard let value = Int64(String(decoding: digits, as: UTF8.self)) else {
            throw fail("expected an integer, got \"\(String(decoding: digits.prefix(32), as: UTF8.self))\"", at: position)
        }
        return value
    }

    private func parse(at cursor: inout Int, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard cursor < buffer.count else { return nil }
        let typeAt = cursor
        let type = buffer[cursor]
        var position = cursor + 1
        guard let header = try line(at: &position) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            cursor = position
            return .simple(String(decoding: header, as: UTF8.self))
        case UInt8(ascii: "-"):
            cursor = position
            return .error(String(decoding: header, as: UTF8.self))
        case UInt8(ascii: ":"):
            let value = try integer(header, at: typeAt + 1)
            cursor = position
            return .integer(value)
        case UInt8(ascii: "$"):
            let length = try integer(header, at: typeAt + 1)
            if length == -1 {
                cursor = position
                return .null
            }
            guard length >= 0 else { throw fail("negative bulk length \(length)", at: typeAt + 1) }
            guard length <= maxBulkBytes else {
                throw fail("bulk string of \(length) bytes exceeds the limit of \(maxBulkBytes)", at: typeAt + 1)
            }
            let count = Int(length)
            guard buffer.count - position >= count + 2 else { return nil }
            guard buffer[position + count] == 13, buffer[position + count + 1] == 10 else {
                throw fail("bulk string of \(count) bytes not followed by CRLF", at: position + count)
            }
            let bytes = Array(buffer[position..<(position + count)])
            cursor = position + count + 2
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            let length = try integer(header, at: typeAt + 1)
            if length == -1 {
                cursor = position
                return .null
            }
            guard length >= 0 else { throw fail("negative array length \(length)", at: typeAt + 1) }
            guard length <= maxArrayElements else {
                throw fail("array of \(length) elements exceeds the limit of \(maxArrayElements)", at: typeAt + 1)
            }
            guard depth < maxDepth else { throw fail("arrays nested deeper than \(maxDepth)", at: typeAt) }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(Int(length), 1024))
            for _ in 0..<length {
                guard let element = try parse(at: &position, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            cursor = position
            return .array(elements)
        default:
            throw fail("unknown type byte 0x\(String(type, radix: 16)) (a RESP3 server? this client speaks RESP2)", at: typeAt)
        }
    }
}
