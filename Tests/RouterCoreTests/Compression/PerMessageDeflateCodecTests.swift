import Foundation
import Testing

@testable import RouterCore

@Suite("PerMessageDeflateCodec: RFC 7692 §7.2.3 examples")
struct PerMessageDeflateRFCExampleTests {
    let hello = Array("Hello".utf8)

    @Test("§7.2.3.1: \"Hello\" deflates to f2 48 cd c9 c9 07 00")
    func helloDeflates() throws {
        let server = try PerMessageDeflateCodec(parameters: .init(), role: .server)
        #expect(server.deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
    }

    @Test("§7.2.3.1: one frame and the same message split over two frames both inflate to \"Hello\"")
    func helloInflatesWholeAndSplit() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try client.inflate(hex("f2 48 cd c9 c9 07 00")) == hello)
        let first = try client.inflate(hex("f2 48 cd"), isFinal: false)
        let second = try client.inflate(hex("c9 c9 07 00"), isFinal: true)
        #expect(first + second == hello)
    }

    @Test("§7.2.3.2: with context takeover the second \"Hello\" is f2 00 11 00 00, and inflates back")
    func contextTakeover() throws {
        let server = try PerMessageDeflateCodec(parameters: .init(), role: .server)
        #expect(server.deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(server.deflate(hello) == hex("f2 00 11 00 00"))

        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try client.inflate(hex("f2 48 cd c9 c9 07 00")) == hello)
        #expect(try client.inflate(hex("f2 00 11 00 00")) == hello)
    }

    @Test("§7.2.3.2: without context takeover both messages are the same bytes")
    func noContextTakeover() throws {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true)
        let server = try PerMessageDeflateCodec(parameters: parameters, role: .server)
        #expect(server.deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(server.deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
        let client = try PerMessageDeflateCodec(parameters: parameters, role: .client)
        #expect(try client.inflate(hex("f2 48 cd c9 c9 07 00")) == hello)
        #expect(try client.inflate(hex("f2 48 cd c9 c9 07 00")) == hello)
    }

    @Test("§7.2.3.3: a stored (uncompressed) DEFLATE block inflates")
    func storedBlock() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try client.inflate(hex("00 05 00 fa ff 48 65 6c 6c 6f 00")) == hello)
    }

    @Test("§7.2.3.4: a block with BFINAL set inflates, and the stream carries on for the next message")
    func finalBlock() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try client.inflate(hex("f3 48 cd c9 c9 07 00 00")) == hello)
        #expect(try client.inflate(hex("f2 48 cd c9 c9 07 00")) == hello)
        // Tolerated: a BFINAL block without the trailing 00 byte.
        #expect(try client.inflate(hex("f3 48 cd c9 c9 07 00")) == hello)
        #expect(try client.inflate(hex("f2 48 cd c9 c9 07 00")) == hello)
    }

    @Test("§7.2.3.4 + takeover: after a BFINAL message the window is kept, so a back-reference still inflates")
    func finalBlockKeepsWindow() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try client.inflate(hex("f3 48 cd c9 c9 07 00 00")) == hello)
        #expect(try client.inflate(hex("f2 00 11 00 00")) == hello)  // refers 5 bytes back into "Hello"
    }

    @Test("§7.2.3.5: two DEFLATE blocks in one message")
    func twoBlocks() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try client.inflate(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")) == hello)
    }

    @Test("§7.2.3.6: a flushed first frame and an empty-block final frame (00)")
    func emptyFinalFragment() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        let first = try client.inflate(hex("f2 48 cd c9 c9 07 00 00 00 ff ff"), isFinal: false)
        let last = try client.inflate(hex("00"), isFinal: true)
        #expect(first == hello)
        #expect(last.isEmpty)
    }

    @Test("An empty message deflates to 00, first or after another message, and inflates to nothing")
    func emptyMessage() throws {
        let server = try PerMessageDeflateCodec(parameters: .init(), role: .server)
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        let firstEmpty = server.deflate([])
        #expect(firstEmpty == [0x00])
        #expect(try client.inflate(firstEmpty) == [])
        #expect(try client.inflate(server.deflate(hello)) == hello)
        let laterEmpty = server.deflate([])
        #expect(laterEmpty == [0x00])
        #expect(try client.inflate(laterEmpty) == [])
        #expect(try client.inflate(server.deflate(hello)) == hello)
    }
}

@Suite("PerMessageDeflateCodec: limits and bad input")
struct PerMessageDeflateLimitTests {
    @Test("Output of exactly `limit` bytes is fine; one byte less allowed throws tooLarge")
    func limitBoundary() throws {
        let message = repetitiveBytes(count: 10_000)
        let server = try PerMessageDeflateCodec(parameters: .init(serverNoContextTakeover: true), role: .server)
        let wire = server.deflate(message)
        let client = try PerMessageDeflateCodec(parameters: .init(serverNoContextTakeover: true), role: .client)
        #expect(try client.inflate(wire, limit: 10_000) == message)
        let other = try PerMessageDeflateCodec(parameters: .init(serverNoContextTakeover: true), role: .client)
        #expect(throws: InflateFailure.tooLarge(limit: 9_999)) { try other.inflate(wire, limit: 9_999) }
    }

    @Test("On a final frame (payload then tail) tooLarge carries the caller's limit; the exact size passes")
    func limitOnFinalFrame() throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(throws: InflateFailure.tooLarge(limit: 4)) { try client.inflate(hex("f2 48 cd c9 c9 07 00"), limit: 4) }
        let exact = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(try exact.inflate(hex("f2 48 cd c9 c9 07 00"), limit: 5) == Array("Hello".utf8))
    }

    @Test("The limit counts per call: a message split in frames passes only with the remaining budget")
    func limitAcrossFrames() throws {
        let message = pseudoRandomBytes(count: 4_000, seed: 7)
        let server = try PerMessageDeflateCodec(parameters: .init(), role: .server)
        let wire = server.deflate(message)
        let half = wire.count / 2
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        let first = try client.inflate(Array(wire[..<half]), isFinal: false, limit: 4_000)
        #expect(first.count > 0 && first.count < 4_000)
        let remaining = 4_000 - first.count
        let second = try client.inflate(Array(wire[half...]), isFinal: true, limit: remaining)
        #expect(first + second == message)
    }

    @Test("Decompression bomb: 50 MB of zeros, limit 1 MiB, throws tooLarge without growing memory to 50 MB")
    func decompressionBomb() throws {
        // Build the bomb in 1 MiB steps so the test itself never holds 50 MB.
        let deflater = try Deflater(format: .raw(windowBits: 15), level: 9, memoryLevel: 9)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var bomb: [UInt8] = []
        for _ in 0..<50 {
            try zeros.withUnsafeBytes { try deflater.compress($0, flush: 0 /* Z_NO_FLUSH */, into: &bomb) }
        }
        try [UInt8]().withUnsafeBytes { try deflater.compress($0, flush: 2 /* Z_SYNC_FLUSH */, into: &bomb) }
        #expect(bomb.suffix(4).elementsEqual([0, 0, 0xff, 0xff]))
        bomb.removeLast(4)
        #expect(bomb.count < 200_000, "50 MB of zeros should compress to well under 200 kB, got \(bomb.count)")

        let before = MemoryProbe.residentBytes()
        let peakWasReset = MemoryProbe.resetPeak()
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        #expect(throws: InflateFailure.tooLarge(limit: 1 << 20)) { try client.inflate(bomb, limit: 1 << 20) }
        #expect(peakWasReset || before == nil, "could not reset the peak RSS counter; memory not measured")
        if peakWasReset, let before, let peak = MemoryProbe.peakResidentBytes() {
            #expect(peak - before < 30 << 20, "peak RSS grew by \(peak - before) bytes")
        }

        // The same bomb with a 60 MB limit inflates fully: proof the data really is 50 MB, and that the probe
        // above would have seen it (the peak grows by the 50 MB result).
        let beforeGenerous = MemoryProbe.residentBytes()
        let peakResetAgain = MemoryProbe.resetPeak()
        let generous = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        let all = try generous.inflate(bomb, limit: 60 << 20)
        #expect(all.count == 50 << 20)
        if peakResetAgain, let beforeGenerous, let peak = MemoryProbe.peakResidentBytes() {
            #expect(peak - beforeGenerous > 40 << 20, "the probe did not see a 50 MB allocation")
        }
    }

    @Test("Corrupt DEFLATE data throws corrupt with zlib's reason", arguments: [
        ("ff 00 12", "invalid block type"),
        ("00 05 00 00 00 48", "invalid stored block lengths"),
    ])
    func corrupt(input: String, reason: String) throws {
        let client = try PerMessageDeflateCodec(parameters: .init(), role: .client)
        let error = #expect(throws: InflateFailure.self) { try client.inflate(hex(input)) }
        guard case .corrupt(let detail) = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
        #expect(detail.contains(reason))
        #expect(detail.contains("Z_DATA_ERROR"))
    }
}

@Suite("PerMessageDeflateCodec: server ↔ client round trips")
struct PerMessageDeflateRoundTripTests {
    static let takeoverCombinations: [(server: Bool, client: Bool)] = [
        (false, false), (true, false), (false, true), (true, true),
    ]
    static let windows: [(server: Int, client: Int)] = (9...15).flatMap { s in (9...15).map { c in (s, c) } }
    static let messages: [[UInt8]] = [
        [], [0x41], pseudoRandomBytes(count: 100 * 1024, seed: 42), repetitiveBytes(count: 100 * 1024),
    ]

    @Test("Every message survives both directions, twice", arguments: takeoverCombinations, windows)
    func roundTrip(takeover: (server: Bool, client: Bool), windows: (server: Int, client: Int)) throws {
        let parameters = PerMessageDeflateParameters(
            serverNoContextTakeover: takeover.server, clientNoContextTakeover: takeover.client,
            serverMaxWindowBits: windows.server, clientMaxWindowBits: windows.client)
        let server = try PerMessageDeflateCodec(parameters: parameters, role: .server)
        let client = try PerMessageDeflateCodec(parameters: parameters, role: .client)
        for _ in 0..<2 {
            for message in Self.messages {
                let down = server.deflate(message)
                #expect(try client.inflate(down, limit: message.count) == message)
                let up = client.deflate(message)
                #expect(try server.inflate(up, limit: message.count) == message)
            }
        }
        // Repetitive data must actually shrink.
        #expect(server.deflate(Self.messages[3]).count < Self.messages[3].count / 10)
    }

    @Test("A peer with an 8-bit window (client_max_window_bits=8) is inflated with 9 bits")
    func peerWindowEight() throws {
        let agreed = PerMessageDeflateParameters(clientMaxWindowBits: 8)
        let server = try PerMessageDeflateCodec(parameters: agreed, role: .server)
        // A zlib-based client asked for 8 compresses with 9 (zlib's smallest raw window).
        let peer = try PerMessageDeflateCodec(parameters: .init(clientMaxWindowBits: 9), role: .client)
        let message = repetitiveBytes(count: 20_000) + pseudoRandomBytes(count: 3_000, seed: 1)
        #expect(try server.inflate(peer.deflate(message)) == message)
    }
}

/// Reads the process's resident memory from /proc (Linux).
enum MemoryProbe {
    static func status(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let digits = line.dropFirst(key.count + 1).filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    static func residentBytes() -> Int? { status("VmRSS") }
    static func peakResidentBytes() -> Int? { status("VmHWM") }

    /// Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux ≥ 4.0).
    static func resetPeak() -> Bool {
        (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
    }
}
