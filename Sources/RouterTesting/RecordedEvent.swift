public import RouterCore

/// One event a handler produced, as recorded by ``OperationHarness``.
///
/// `complete` holds the result's fields (without `elapsedMs`, which depends on the clock);
/// `chunk` holds the chunk's fields (without `chunk`, its index, which is `index`).
public enum RecordedEvent: Sendable, Equatable, CustomStringConvertible {
    case progress(stage: String, stageIndex: Int, progress: Double, message: String?)
    case chunk(index: Int, json: JSONValue)
    case complete(JSONValue)
    case error(code: String, message: String)

    /// `.progress("scan", 0, 0.5)`: a progress event without a message.
    public static func progress(_ stage: String, _ stageIndex: Int, _ progress: Double) -> RecordedEvent {
        .progress(stage: stage, stageIndex: stageIndex, progress: progress, message: nil)
    }

    public var isFinal: Bool {
        switch self {
        case .complete, .error: true
        case .progress, .chunk: false
        }
    }

    public var description: String {
        switch self {
        case .progress(let stage, let index, let progress, let message):
            ".progress(\(stage), \(index), \(progress)\(message.map { ", \"\($0)\"" } ?? ""))"
        case .chunk(let index, let json): ".chunk(\(index), \(json.jsonText))"
        case .complete(let json): ".complete(\(json.jsonText))"
        case .error(let code, let message): ".error(\(code), \"\(message)\")"
        }
    }
}
