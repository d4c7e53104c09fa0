import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// Bytes waiting to be written to one socket, flushed with `writev` in batches. Loop-confined value.
///
/// Small writes (frame headers, small messages) are coalesced into the last buffer, so a burst of
/// small frames costs one iovec; large payloads stay separate buffers and are never copied.
struct WriteQueue {
    /// What a flush achieved.
    enum FlushOutcome: Equatable {
        /// Everything queued was written.
        case flushed
        /// The socket would block with bytes still queued: wait for writability.
        case pending
    }

    private var buffers: [[UInt8]] = []
    /// Where a drained queue leaves its emptied buffer and an empty queue takes one (nil: not recycled).
    private let spare: WriteBufferSpare?
    /// How much of `buffers[0]` was already written.
    private var headOffset = 0
    /// Bytes queued and not yet written.
    private(set) var byteCount = 0

    /// Buffers at most this large are coalesced into.
    private static let coalesceLimit = 16 * 1024
    /// Buffers up to this size are copied into the coalescing buffer rather than queued separately.
    static let copyLimit = 4 * 1024
    private static let maxIOVecs = 64

    var isEmpty: Bool { byteCount == 0 }

    /// A queue whose emptied buffers go to `spare` (its event loop's) and come back from it.
    init(spare: WriteBufferSpare? = nil) {
        self.spare = spare
    }

    /// Appends bytes, copying them into the last buffer when both are small.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if buffers.isEmpty, let recycled = spare?.take() { buffers = recycled }
        byteCount += bytes.count
        if canCoalesce(adding: bytes.count) {
            buffers[buffers.count - 1].append(contentsOf: bytes)
        } else {
            var buffer = [UInt8]()
            buffer.reserveCapacity(max(bytes.count, 512))
            buffer.append(contentsOf: bytes)
            buffers.append(buffer)
        }
    }

    /// Appends a buffer without copying it (unless it is small enough to coalesce).
    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if buffers.isEmpty, bytes.count <= Self.copyLimit, let recycled = spare?.take() { buffers = recycled }
        if bytes.count <= Self.copyLimit, canCoalesce(adding: bytes.count) {
            byteCount += bytes.count
            buffers[buffers.count - 1].append(contentsOf: bytes)
        } else {
            byteCount += bytes.count
            buffers.append(bytes)
        }
    }

    private func canCoalesce(adding count: Int) -> Bool {
        guard let last = buffers.last else { return false }
        // Never append to the head buffer once part of it was written: offsets must stay valid (they do),
        // but keep it simple and bounded.
        if buffers.count == 1 && headOffset > 0 { return false }
        return last.count + count <= Self.coalesceLimit
    }

    /// Drops every buffer not yet started, keeping the unwritten rest of a partially written one
    /// (dropping that would corrupt the frame stream). Used before a policy close.
    mutating func discardUnstarted() {
        guard !buffers.isEmpty else { return }
        if headOffset > 0 {
            buffers.removeSubrange(1...)
            byteCount = buffers[0].count - headOffset
        } else {
            buffers.removeAll()
            byteCount = 0
        }
    }

    /// Writes as much as the socket takes.
    mutating func flush(to fd: Int32) throws(SocketError) -> FlushOutcome {
        while byteCount > 0 {
            let written: IOResult
            if buffers.count == 1 {
                let offset = headOffset
                written = try buffers[0].withUnsafeBytes { raw in
                    Result { () throws(SocketError) in
                        try nonBlockingSyscall("write") { write(fd, raw.baseAddress! + offset, raw.count - offset) }
                    }
                }.get()
            } else {
                written = try writeVector(fd)
            }
            switch written {
            case .wouldBlock:
                return .pending
            case .processed(let count):
                consume(count)
            }
        }
        return .flushed
    }

    private mutating func writeVector(_ fd: Int32) throws(SocketError) -> IOResult {
        let count = min(buffers.count, Self.maxIOVecs)
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vectors in
            // The iovecs point into the arrays' storage; the arrays are not mutated until writev returns.
            for index in 0..<count {
                buffers[index].withUnsafeBytes { raw in
                    let offset = index == 0 ? headOffset : 0
                    vectors[index] = iovec(
                        iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + offset),
                        iov_len: raw.count - offset)
                }
            }
            return Result { () throws(SocketError) in
                try nonBlockingSyscall("writev") { writev(fd, vectors.baseAddress!, Int32(count)) }
            }
        }.get()
    }

    private mutating func consume(_ written: Int) {
        byteCount -= written
        var remaining = written
        while remaining > 0 {
            let available = buffers[0].count - headOffset
            if remaining >= available {
                remaining -= available
                headOffset = 0
                // The last one, small: emptied and left for the loop's next writer with the list around it.
                if buffers.count == 1, let spare, buffers[0].capacity <= Self.coalesceLimit {
                    buffers[0].removeAll(keepingCapacity: true)
                    spare.keep(&buffers)
                    return
                }
                buffers.removeFirst()
            } else {
                headOffset += remaining
                remaining = 0
            }
        }
        if buffers.isEmpty { buffers = [] }
    }
}

/// The emptied write buffer an event loop keeps for its connections. A connection whose queue drains leaves
/// its buffer here and the next one to write takes it: the loop's connections write one after the other on
/// its thread, so replies to a burst of small messages allocate no buffer, and an idle connection keeps none.
/// Loop-confined.
final class WriteBufferSpare: @unchecked Sendable {
    /// A list holding one emptied buffer, or nil.
    private var kept: [[UInt8]]?

    init() {}

    /// The kept list (one empty buffer with capacity), if any; the spare is empty afterwards.
    func take() -> [[UInt8]]? {
        kept.take()
    }

    /// Keeps `buffers` (one emptied buffer) unless one is kept already; `buffers` is left empty either way.
    func keep(_ buffers: inout [[UInt8]]) {
        if kept == nil { kept = buffers }
        buffers = []
    }
}
