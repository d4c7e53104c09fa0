// Shared by every fuzz target (compiled into each target's executable by scripts/fuzz.sh).

/// A cursor over the fuzzer's bytes: targets take a few configuration bytes first, then the data.
struct FuzzInput {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ data: UnsafePointer<UInt8>?, _ count: Int) {
        bytes = count > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: count)) : []
    }

    /// The next byte, or 0 once the input is used up.
    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Everything not taken yet.
    var rest: ArraySlice<UInt8> { bytes[min(offset, bytes.count)...] }
}

/// Splits `bytes` into chunks whose sizes cycle through `sizes` (each at least 1): how bytes arrive from a socket.
func chunks<C: Collection>(of bytes: C, sizes: [Int]) -> [C.SubSequence] {
    var result: [C.SubSequence] = []
    var start = bytes.startIndex
    var turn = 0
    while start != bytes.endIndex {
        let size = max(1, sizes.isEmpty ? bytes.count : sizes[turn % sizes.count])
        let end = bytes.index(start, offsetBy: size, limitedBy: bytes.endIndex) ?? bytes.endIndex
        result.append(bytes[start..<end])
        start = end
        turn += 1
    }
    return result
}

/// Stops the run with a message libFuzzer records with the crashing input (active in -O builds too).
func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
    if !condition() {
        fatalError("invariant broken: \(message())", line: line)
    }
}
