/// CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`, initial value and final XOR `0xFFFFFFFF`): the
/// checksum of zlib, gzip and PNG. Table-driven, one byte per step. `CRC32.checksum("123456789") == 0xCBF43926`.
public enum CRC32 {
    /// The 256-entry lookup table, computed once.
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    /// Continues a running checksum: `update(update(0, a), b) == checksum(a + b)`. Start with `0`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var value = ~crc
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8)
            }
        }
        return ~value
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var array = Array(bytes)
        return array.withUnsafeMutableBytes { update(0, UnsafeRawBufferPointer($0)) }
    }
}
