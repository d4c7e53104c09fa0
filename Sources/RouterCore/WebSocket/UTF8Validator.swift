/// Validates UTF-8 incrementally, across any split of the input, and fails at the first byte that makes it invalid.
///
/// A deterministic automaton over the well-formed byte sequences of Unicode §3.9 (table 3-7), the same
/// language as Hoehrmann's DFA: it rejects overlong forms (`C0`, `C1`, `E0 80…9F`, `F0 80…8F`), surrogates
/// (`ED A0…BF`), code points over U+10FFFF (`F4 90…`, `F5…FF`) and stray continuation bytes, each at the byte
/// where no valid continuation remains. Text frames use it so that invalid text closes with 1007 before the
/// rest of the message arrives (RFC 6455 §8.1). ASCII runs are skipped 32 bytes at a time.
///
/// ```swift
/// var validator = UTF8Validator()
/// validator.feed([0xE2, 0x82])   // true: "€" is not finished yet
/// validator.isAtCharacterBoundary   // false
/// validator.feed([0xAC])         // true, and now at a boundary
/// ```
package struct UTF8Validator: Sendable {
    /// Automaton states; each names what the next byte must be.
    private enum State: UInt8, Sendable {
        /// At a code point boundary.
        case boundary
        /// One more continuation byte (80…BF).
        case oneMore
        /// Two more continuation bytes.
        case twoMore
        /// Three more continuation bytes.
        case threeMore
        /// After E0: A0…BF (anything lower is overlong), then one more.
        case afterE0
        /// After ED: 80…9F (anything higher is a surrogate), then one more.
        case afterED
        /// After F0: 90…BF (anything lower is overlong), then two more.
        case afterF0
        /// After F4: 80…8F (anything higher is over U+10FFFF), then two more.
        case afterF4
        /// Invalid; stays so until ``UTF8Validator/reset()``.
        case rejected
    }

    private var state: State = .boundary
    private var bytesFed = 0

    /// The offset, counted from the last ``reset()``, of the first byte that made the input invalid; `nil` while valid.
    package private(set) var failureOffset: Int?

    /// Creates a validator at a code point boundary.
    package init() {}

    /// Whether the input so far ends on a complete code point (and is valid).
    package var isAtCharacterBoundary: Bool { state == .boundary }

    /// Validates the next `bytes`; returns `false` as soon as a byte makes the input invalid, and from then on.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != .rejected else { return false }
        var current = state
        var index = 0
        let count = bytes.count
        while index < count {
            if current == .boundary {
                // ASCII fast path: bytes with no high bit are complete code points; 64 at a time in four
                // 16-byte vectors (SSE2 or NEON), then 32 in words, then 8.
                while count - index >= 64 {
                    let any =
                        bytes.loadUnaligned(fromByteOffset: index, as: SIMD2<UInt64>.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 16, as: SIMD2<UInt64>.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 32, as: SIMD2<UInt64>.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 48, as: SIMD2<UInt64>.self)
                    guard (any[0] | any[1]) & 0x8080_8080_8080_8080 == 0 else { break }
                    index += 64
                }
                while count - index >= 32 {
                    let any =
                        bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
                    guard any & 0x8080_8080_8080_8080 == 0 else { break }
                    index += 32
                }
                while count - index >= 8,
                    bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                guard index < count else { break }
            }
            current = Self.transition(current, bytes[index])
            if current == .rejected {
                state = .rejected
                failureOffset = bytesFed + index
                return false
            }
            index += 1
        }
        state = current
        bytesFed += count
        return true
    }

    /// Validates the next `bytes`, like the raw-buffer overload (a convenience for arrays).
    package mutating func feed(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Forgets all input, for the next message.
    package mutating func reset() {
        state = .boundary
        bytesFed = 0
        failureOffset = nil
    }

    private static func transition(_ state: State, _ byte: UInt8) -> State {
        switch state {
        case .boundary:
            switch byte {
            case 0x00...0x7F: .boundary
            case 0xC2...0xDF: .oneMore
            case 0xE0: .afterE0
            case 0xE1...0xEC, 0xEE...0xEF: .twoMore
            case 0xED: .afterED
            case 0xF0: .afterF0
            case 0xF1...0xF3: .threeMore
            case 0xF4: .afterF4
            // 80…BF: continuation without a lead; C0, C1: always overlong; F5…FF: beyond U+10FFFF.
            default: .rejected
            }
        case .oneMore: (0x80...0xBF).contains(byte) ? .boundary : .rejected
        case .twoMore: (0x80...0xBF).contains(byte) ? .oneMore : .rejected
        case .threeMore: (0x80...0xBF).contains(byte) ? .twoMore : .rejected
        case .afterE0: (0xA0...0xBF).contains(byte) ? .oneMore : .rejected
        case .afterED: (0x80...0x9F).contains(byte) ? .oneMore : .rejected
        case .afterF0: (0x90...0xBF).contains(byte) ? .twoMore : .rejected
        case .afterF4: (0x80...0x8F).contains(byte) ? .twoMore : .rejected
        case .rejected: .rejected
        }
    }
}
