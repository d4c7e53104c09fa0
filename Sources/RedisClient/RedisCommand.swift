/// One command: its arguments as binary-safe bulk strings (`["XADD", "stream", "*", "b", bytes]`).
public struct RedisCommand: Sendable, Equatable, CustomStringConvertible {
    /// Every argument, the command name first.
    public var arguments: [[UInt8]]

    /// A command from text arguments.
    public init(_ name: String, _ arguments: String...) {
        self.arguments = [Array(name.utf8)] + arguments.map { Array($0.utf8) }
    }

    /// A command from text and binary arguments.
    public init(_ name: String, arguments: [RedisArgument]) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.bytes)
    }

    /// The command's name in upper case (for error messages).
    public var name: String { String(decoding: arguments.first ?? [], as: UTF8.self).uppercased() }

    /// The name, and for a few safe commands the first argument; never values (they may hold secrets).
    public var description: String {
        name == "AUTH" ? "AUTH" : name + (arguments.count > 1 && name != "EVAL" ? " \(String(decoding: arguments[1].prefix(64), as: UTF8.self))" : "")
    }

    /// Appends the command as a RESP array of bulk strings.
    public func encode(into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        buffer.append(contentsOf: String(arguments.count).utf8)
        buffer.append(contentsOf: [13, 10])
        for argument in arguments {
            buffer.append(UInt8(ascii: "$"))
            buffer.append(contentsOf: String(argument.count).utf8)
            buffer.append(contentsOf: [13, 10])
            buffer.append(contentsOf: argument)
            buffer.append(contentsOf: [13, 10])
        }
    }
}

/// A command argument: text or raw bytes.
public enum RedisArgument: Sendable, ExpressibleByStringLiteral {
    case text(String)
    case binary([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }

    var bytes: [UInt8] {
        switch self {
        case .text(let text): Array(text.utf8)
        case .binary(let bytes): bytes
        }
    }
}
