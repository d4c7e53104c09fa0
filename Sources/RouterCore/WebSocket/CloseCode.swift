/// A WebSocket close status code (RFC 6455 §7.4).
package enum CloseCode: Sendable, Hashable, CustomStringConvertible {
    /// Corresponds to code 1000.
    case normal
    /// The endpoint is going away (server shutdown, idle peer). Corresponds to code 1001.
    case goingAway
    /// Corresponds to code 1002.
    case protocolError
    /// Data of a type the endpoint cannot accept. Corresponds to code 1003.
    case unsupportedData
    /// Reported locally when a close frame had no code; never sent. Corresponds to code 1005.
    case noStatusReceived
    /// Reported locally when the connection dropped without a close frame; never sent. Corresponds to code 1006.
    case abnormalClosure
    /// Text that is not valid UTF-8 (or otherwise inconsistent data). Corresponds to code 1007.
    case invalidPayload
    /// A message violated the endpoint's policy (e.g. a consumer too slow). Corresponds to code 1008.
    case policyViolation
    /// A frame or message over the configured limits. Corresponds to code 1009.
    case messageTooBig
    /// Corresponds to code 1010.
    case mandatoryExtension
    /// Corresponds to code 1011.
    case internalError
    /// Any other code (3000–4999 for libraries and applications).
    case other(UInt16)

    package init(code: UInt16) {
        switch code {
        case 1000: self = .normal
        case 1001: self = .goingAway
        case 1002: self = .protocolError
        case 1003: self = .unsupportedData
        case 1005: self = .noStatusReceived
        case 1006: self = .abnormalClosure
        case 1007: self = .invalidPayload
        case 1008: self = .policyViolation
        case 1009: self = .messageTooBig
        case 1010: self = .mandatoryExtension
        case 1011: self = .internalError
        default: self = .other(code)
        }
    }

    /// The numeric code on the wire.
    package var code: UInt16 {
        switch self {
        case .normal: 1000
        case .goingAway: 1001
        case .protocolError: 1002
        case .unsupportedData: 1003
        case .noStatusReceived: 1005
        case .abnormalClosure: 1006
        case .invalidPayload: 1007
        case .policyViolation: 1008
        case .messageTooBig: 1009
        case .mandatoryExtension: 1010
        case .internalError: 1011
        case .other(let code): code
        }
    }

    /// Whether a peer may send this code in a close frame (RFC 6455 §7.4.1, §7.4.2):
    /// 1000–1003, 1007–1011 and 3000–4999. 1005, 1006 and 1015 must never appear on the wire.
    package var isValidOnWire: Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }

    package var description: String { "\(code)" }
}
