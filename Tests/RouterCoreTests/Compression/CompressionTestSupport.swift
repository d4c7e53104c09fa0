@testable import RouterCore

/// Bytes from a hex string such as `"f2 48 cd"`.
// `hex(_:)` ("f2 48 cd" → bytes) is shared with the WebSocket tests (FrameDecoderVerifier.swift).

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z) { bytes.append(contentsOf: $0.prefix(count - bytes.count)) }
    }
    return bytes
}

/// Repetitive text-like bytes (compresses well).
func repetitiveBytes(count: Int) -> [UInt8] {
    let line = Array(#"{"type":"memory_search_progress","stage":"rank","progress":0.5}\n"#.utf8)
    return (0..<count).map { line[$0 % line.count] }
}

extension PerMessageDeflateCodec {
    func deflate(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { deflate($0) }
    }

    func inflate(_ bytes: [UInt8], isFinal: Bool = true, limit: Int = 1 << 24) throws(InflateFailure) -> [UInt8] {
        try narrowingToInflateFailure { try bytes.withUnsafeBytes { try inflate($0, isFinal: isFinal, limit: limit) } }
    }
}
