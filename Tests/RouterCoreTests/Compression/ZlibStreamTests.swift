import Testing

@testable import RouterCore

@Suite("Deflater / Inflater: zlib streams")
struct ZlibStreamTests {
    @Test("zlib rejects a raw window of 8 bits only for deflate, so our deflaters clamp to 9")
    func windowEight() throws {
        #expect(ZlibFormat.raw(windowBits: 8).zlibWindowBits == -9)
        #expect(ZlibFormat.raw(windowBits: 15).zlibWindowBits == -15)
        #expect(ZlibFormat.gzip.zlibWindowBits == 31)
        let deflater = try Deflater(format: .raw(windowBits: 8), level: 6, memoryLevel: 8)
        var out: [UInt8] = []
        try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try deflater.compress($0, flush: 2, into: &out) }
        #expect(out.suffix(4).elementsEqual([0, 0, 0xff, 0xff]))
    }

    @Test("reset() forgets the window: the same input compresses to the same bytes again")
    func resetForgetsHistory() throws {
        let deflater = try Deflater(format: .raw(windowBits: 15), level: 6, memoryLevel: 8)
        let input = repetitiveBytes(count: 500)
        func once() throws -> [UInt8] {
            var out: [UInt8] = []
            try input.withUnsafeBytes { try deflater.compress($0, flush: 2, into: &out) }
            return out
        }
        let first = try once()
        let second = try once()
        #expect(second.count < first.count)  // refers back to the first
        deflater.reset()
        #expect(try once() == first)
    }

    @Test("Many streams are created and freed (init2 / End) without error")
    func lifecycle() throws {
        for bits in 9...15 {
            for _ in 0..<20 {
                let inflater = try Inflater(format: .raw(windowBits: bits))
                var out: [UInt8] = []
                let progress = try narrowingToInflateFailure {
                    try hex("f2 48 cd c9 c9 07 00 00 00 ff ff").withUnsafeBytes { try inflater.inflate($0, into: &out, limit: 10) }
                }
                #expect(out == Array("Hello".utf8))
                #expect(progress == Inflater.Progress(consumed: 11, streamEnded: false))
            }
        }
    }

    @Test("Inflate stops at a BFINAL block and reports the bytes it consumed")
    func streamEnd() throws {
        let inflater = try Inflater(format: .raw(windowBits: 15))
        var out: [UInt8] = []
        let progress = try narrowingToInflateFailure {
            try hex("f3 48 cd c9 c9 07 00 00 aa").withUnsafeBytes { try inflater.inflate($0, into: &out, limit: 10) }
        }
        #expect(progress == Inflater.Progress(consumed: 7, streamEnded: true))
        #expect(out == Array("Hello".utf8))
    }

    @Test("ZlibError reads well")
    func errorMessage() {
        let error = ZlibError(code: -3, operation: "inflate", message: "invalid block type")
        #expect(error.description == "inflate failed: Z_DATA_ERROR (-3): invalid block type")
        #expect(ZlibError(code: -2, operation: "deflateInit2").description == "deflateInit2 failed: Z_STREAM_ERROR (-2)")
    }
}
