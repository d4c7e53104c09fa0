import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one line per record to standard error (fd 2), as text or as JSON lines.
///
/// Text: `2026-01-02T03:04:05.678Z notice router: request timed out op.id=r1 op.type=memory_search`.
/// JSON: `{"label":"router","level":"notice","message":"…","metadata":{…},"timestamp":"…"}`.
/// Each line is written with a single `write(2)` so lines from concurrent tasks do not interleave.
public struct StderrLogHandler: LogHandler {
    public enum Format: Sendable {
        case text
        case json
    }

    public var format: Format

    public init(format: Format = .text) {
        self.format = format
    }

    public func log(_ record: LogRecord) {
        var line = Self.render(record, format: format)
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// The bytes of one record's line, without the newline.
    static func render(_ record: LogRecord, format: Format) -> [UInt8] {
        let timestamp = record.timestamp.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        switch format {
        case .text:
            var text = "\(timestamp) \(record.level.rawValue) \(record.label): \(record.message)"
            for key in record.metadata.keys.sorted() {
                text += " \(key)=\(record.metadata[key]!)"
            }
            return Array(text.utf8)
        case .json:
            var members: [(String, JSONValue)] = [
                ("timestamp", .string(timestamp)), ("level", .string(record.level.rawValue)),
                ("label", .string(record.label)), ("message", .string(record.message)),
            ]
            if !record.metadata.isEmpty {
                members.append(("metadata", .object(record.metadata.mapValues { .string($0) })))
            }
            var writer = JSONWriter()
            writer.writeOrderedObject(members)
            return writer.bytes
        }
    }
}
