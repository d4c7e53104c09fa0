internal import CZlib

/// One zlib deflate stream, owned exactly once (STYLE rule 8).
///
/// The `z_stream` lives at a stable heap address for the stream's whole life (zlib keeps a pointer back to it);
/// `deflateInit2` runs in `init`, `deflateEnd` in `deinit`, and `next_in` / `next_out` are cleared after every call so
/// the stream never holds a dangling buffer pointer. Not thread-safe: confine an instance to one thread or loop.
final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    let format: ZlibFormat

    /// - Parameters:
    ///   - format: raw (permessage-deflate) or gzip.
    ///   - level: 0 (store) … 9 (best); clamped into that range.
    ///   - memoryLevel: 1 … 9 (zlib's default is 8); clamped into that range.
    init(format: ZlibFormat, level: Int, memoryLevel: Int) throws(ZlibError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        stream.pointee.zalloc = nil
        stream.pointee.zfree = nil
        stream.pointee.opaque = nil
        let rc = czlib_deflateInit2(
            stream, Int32(min(max(level, 0), 9)), Z_DEFLATED, format.zlibWindowBits,
            Int32(min(max(memoryLevel, 1), 9)), Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else {
            let error = ZlibError(code: rc, operation: "deflateInit2", stream: stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw error
        }
        self.format = format
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Forgets the history (LZ77 window) but keeps the allocation and parameters: the no-context-takeover path.
    func reset() {
        deflateReset(stream)
    }

    /// Compresses `input` and appends what zlib produces to `output`.
    ///
    /// - Parameter flush: `Z_NO_FLUSH` (zlib may hold data back), `Z_SYNC_FLUSH` (everything so far is emitted and
    ///   the output ends on a byte boundary with `00 00 ff ff`), or `Z_FINISH` (the stream is closed; `reset()` before
    ///   reusing it).
    func compress(_ input: UnsafeRawBufferPointer, flush: Int32, into output: inout [UInt8]) throws(ZlibError) {
        stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        stream.pointee.avail_in = uInt(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            stream.pointee.next_out = nil
            stream.pointee.avail_out = 0
        }
        // deflateBound covers Z_FINISH; a sync flush adds an empty stored block (5 bytes) and pending bits.
        var chunk = min(Int(deflateBound(stream, uLong(input.count))) + 16, 256 * 1024)
        while true {
            // zlib writes into a temporary buffer, appended with one memcpy (zero-filling the array first is
            // several times slower in debug builds).
            let rc = withUnsafeTemporaryAllocation(of: Bytef.self, capacity: chunk) { buffer in
                stream.pointee.next_out = buffer.baseAddress!
                stream.pointee.avail_out = uInt(chunk)
                let rc = deflate(stream, flush)
                output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<(chunk - Int(stream.pointee.avail_out))]))
                return rc
            }
            let unused = Int(stream.pointee.avail_out)
            switch rc {
            case Z_STREAM_END:
                return
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR: no progress was possible (e.g. a repeated flush with no new input): nothing pending.
                if rc == Z_BUF_ERROR || (unused > 0 && stream.pointee.avail_in == 0 && flush != Z_FINISH) { return }
            default:
                throw ZlibError(code: rc, operation: "deflate", stream: stream)
            }
            chunk = min(max(chunk, 4096), 256 * 1024)
        }
    }
}
