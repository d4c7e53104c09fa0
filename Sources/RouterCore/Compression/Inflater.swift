internal import CZlib

/// One zlib inflate stream, owned exactly once, that never produces more than a caller-given limit.
///
/// Same ownership rules as ``Deflater``: stable `z_stream` address, `inflateInit2` in `init`, `inflateEnd` in
/// `deinit`, `next_in` / `next_out` cleared after every call. Not thread-safe.
final class Inflater {
    /// What one ``inflate(_:into:limit:)`` call did with its input.
    struct Progress: Equatable {
        /// Input bytes zlib consumed. Less than the input's count only when the stream ended.
        var consumed: Int
        /// zlib reached the end of the compressed stream (a DEFLATE block with BFINAL set, or the gzip trailer).
        /// Input after that point was not consumed; call ``reset()`` or ``restartKeepingWindow()`` to read on.
        var streamEnded: Bool
    }

    private let stream: UnsafeMutablePointer<z_stream>
    let format: ZlibFormat

    /// Largest piece of output requested from zlib in one call; keeps buffer growth in step with the limit check.
    private static let maxChunk = 256 * 1024

    init(format: ZlibFormat) throws(ZlibError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        stream.pointee.zalloc = nil
        stream.pointee.zfree = nil
        stream.pointee.opaque = nil
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        let rc = czlib_inflateInit2(stream, format.zlibWindowBits)
        guard rc == Z_OK else {
            let error = ZlibError(code: rc, operation: "inflateInit2", stream: stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw error
        }
        self.format = format
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Forgets the history (LZ77 window) and starts a new stream: the no-context-takeover path.
    func reset() {
        inflateReset(stream)
    }

    /// Starts a new raw stream after one ended with a BFINAL block, keeping the last 32 KiB of output as the
    /// dictionary so a peer that takes over its context (RFC 7692 §7.2.3.4) can still refer back to it.
    func restartKeepingWindow() {
        var window = [UInt8](repeating: 0, count: 1 << 15)
        var length: uInt = 0
        let rc = window.withUnsafeMutableBufferPointer { inflateGetDictionary(stream, $0.baseAddress, &length) }
        inflateReset(stream)
        if rc == Z_OK, length > 0 {
            _ = window.withUnsafeBufferPointer { inflateSetDictionary(stream, $0.baseAddress, length) }
        }
    }

    /// Inflates `input`, appending to `output`, and never lets `output.count` exceed `limit`.
    ///
    /// When `output` reaches `limit` and zlib still has output to give, throws ``InflateFailure/tooLarge(limit:)``
    /// carrying `limit`. Nothing beyond the limit is ever buffered: the check reads at most one byte into a local.
    /// After a throw the stream's state is unspecified: `reset()` it or drop it.
    /// - Throws: ``InflateFailure/corrupt(detail:)`` with zlib's message for invalid data.
    func inflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int) throws(InflateFailure) -> Progress {
        stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        stream.pointee.avail_in = uInt(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            stream.pointee.next_out = nil
            stream.pointee.avail_out = 0
        }
        var consumed: Int { input.count - Int(stream.pointee.avail_in) }

        while true {
            let room = limit - output.count
            let rc: Int32
            let filled: Bool
            if room <= 0 {
                // At the limit: is there any more output? Ask for one byte into a local that is thrown away.
                var probe: UInt8 = 0
                rc = withUnsafeMutablePointer(to: &probe) { pointer in
                    stream.pointee.next_out = pointer
                    stream.pointee.avail_out = 1
                    return CZlib.inflate(stream, Z_SYNC_FLUSH)
                }
                if stream.pointee.avail_out == 0 { throw .tooLarge(limit: limit) }
                filled = false
            } else {
                let chunk = min(room, Self.maxChunk, max(input.count * 4, 16 * 1024))
                // zlib writes into a temporary buffer of at most `room` bytes, appended with one memcpy.
                rc = withUnsafeTemporaryAllocation(of: Bytef.self, capacity: chunk) { buffer in
                    stream.pointee.next_out = buffer.baseAddress!
                    stream.pointee.avail_out = uInt(chunk)
                    let rc = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<(chunk - Int(stream.pointee.avail_out))]))
                    return rc
                }
                filled = stream.pointee.avail_out == 0
            }
            switch rc {
            case Z_STREAM_END:
                return Progress(consumed: consumed, streamEnded: true)
            case Z_OK:
                // Done when all input is consumed and zlib left room in the buffer (nothing pending).
                if stream.pointee.avail_in == 0 && !filled { return Progress(consumed: consumed, streamEnded: false) }
            case Z_BUF_ERROR:
                // No progress possible: all input consumed and nothing pending.
                if stream.pointee.avail_in == 0 { return Progress(consumed: consumed, streamEnded: false) }
                throw .corrupt(detail: ZlibError(code: rc, operation: "inflate", stream: stream).description)
            case Z_NEED_DICT:
                throw .corrupt(detail: "inflate: the stream needs a preset dictionary")
            default:
                throw .corrupt(detail: ZlibError(code: rc, operation: "inflate", stream: stream).description)
            }
        }
    }
}

/// Runs `body`, which can only throw ``InflateFailure``, restoring the typed error that `Array.withUnsafeBytes`
/// (untyped `rethrows`) erases.
func narrowingToInflateFailure<Result>(_ body: () throws -> Result) throws(InflateFailure) -> Result {
    do {
        return try body()
    } catch let failure as InflateFailure {
        throw failure
    } catch {
        preconditionFailure("unexpected error \(error)")
    }
}
