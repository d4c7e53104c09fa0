/// A WebSocket frame opcode (RFC 6455 §5.2), open to values this implementation does not know.
package struct WebSocketOpcode: Sendable, Hashable, CustomStringConvertible {
    /// The 4-bit value on the wire.
    package let rawValue: UInt8

    package init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    package static let continuation = Self(rawValue: 0x0)
    package static let text = Self(rawValue: 0x1)
    package static let binary = Self(rawValue: 0x2)
    package static let close = Self(rawValue: 0x8)
    package static let ping = Self(rawValue: 0x9)
    package static let pong = Self(rawValue: 0xA)

    /// Control frames have the high bit of the opcode set (RFC 6455 §5.5).
    package var isControl: Bool { rawValue & 0x8 != 0 }

    /// Whether RFC 6455 defines this opcode; others are reserved and fail the connection (§5.2).
    package var isKnown: Bool {
        switch rawValue {
        case 0x0, 0x1, 0x2, 0x8, 0x9, 0xA: return true
        default: return false
        }
    }

    package var description: String {
        switch rawValue {
        case 0x0: "continuation"
        case 0x1: "text"
        case 0x2: "binary"
        case 0x8: "close"
        case 0x9: "ping"
        case 0xA: "pong"
        default: "reserved(0x\(String(rawValue, radix: 16)))"
        }
    }
}
