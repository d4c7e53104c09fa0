/// What one running operation produces, before it is addressed and encoded for the wire.
///
/// The router maps these to `<prefix>_progress`, `<prefix>_chunk`, `<prefix>_complete` and
/// `error`; ``RouterTesting`` records them as they are.
package enum OperationEvent: Sendable, Equatable {
    case progress(stage: String, stageIndex: Int, stageCount: Int, progress: Double, message: String?)
    case chunk(index: Int, fields: ResultFields)
    case complete(fields: ResultFields, elapsed: Duration)
    case failure(code: String, message: String, outcome: OperationMetrics.Outcome)

    var isFinal: Bool {
        switch self {
        case .progress, .chunk: false
        case .complete, .failure: true
        }
    }
}

/// Where one request's events go: a session (addressed, encoded, sent) or a test recorder.
package protocol OperationEventTarget: Sendable {
    /// Delivers an event. Returns false if the request is over (a final message was already
    /// delivered, e.g. by a cancel); the event is then dropped.
    func deliver(_ event: OperationEvent) -> Bool
    /// Suspends while the client's outbound queue is above its high-water mark; false if it is gone.
    func waitUntilWritable() async -> Bool
    /// Called when the handler reports progress for a stage it did not declare (the report is dropped).
    func undeclaredStage(_ stage: String, declared: [String])
}

extension OperationEventTarget {
    /// A handler reported progress for a stage it did not declare. A live session ignores it (the
    /// request goes on); the test harness fails the handler's test with it.
    package func undeclaredStage(_ stage: String, declared: [String]) {}
}
