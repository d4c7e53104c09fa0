import MemoryStore
public import RouterCore

/// `context_compress`: an extractive compression preview of a context (DESIGN §8), see ``ContextCompressor``.
///
/// Request `data`: `{"messages": [{"role", "content"}]}` **or** `{"memoryIds": ["mem-1", …]}` (exactly one),
/// `"budgetTokens"` (> 0), optional `"keepRecent"` (≥ 0, default 0: the number of latest messages kept whole) and
/// `"keepSystem"` (default true: `system` messages are kept whole).
/// Memories become messages with role `memory`, labelled by their id, in the order the ids are given; they need
/// the host's ``MemoryStore`` service. Answers `compression_complete` with a ``CompressionResult``.
///
/// Errors: `bad_request` with the path (`data.budgetTokens: must be > 0, found 0`; `data.memoryIds: unknown ids
/// "a", "b"`); `payload_too_large` when the input's estimate exceeds ``CompressionOptions/maxInputTokens``.
/// Progress: `splitting` → `deduplicating` → `scoring` → `selecting`; cancellation is checked every 256 items.
public struct ContextCompressHandler: OperationHandler {
    public struct Request: Decodable, Sendable {
        public var messages: [ContextMessage]?
        public var memoryIds: [String]?
        public var budgetTokens: Int
        public var keepRecent: Int?
        public var keepSystem: Bool?

        public init(
            messages: [ContextMessage]? = nil, memoryIds: [String]? = nil, budgetTokens: Int, keepRecent: Int? = nil,
            keepSystem: Bool? = nil
        ) {
            self.messages = messages
            self.memoryIds = memoryIds
            self.budgetTokens = budgetTokens
            self.keepRecent = keepRecent
            self.keepSystem = keepSystem
        }
    }

    public typealias Response = CompressionResult

    public static let messageType = "context_compress"
    public static let eventPrefix = "compression"
    public static let timeout: Duration = .seconds(120)
    public static let stages = [
        ProgressStage(ContextCompressor.Stage.splitting.rawValue, weight: 1),
        ProgressStage(ContextCompressor.Stage.deduplicating.rawValue, weight: 3),
        ProgressStage(ContextCompressor.Stage.scoring.rawValue, weight: 3),
        ProgressStage(ContextCompressor.Stage.selecting.rawValue, weight: 1),
    ]

    public let options: CompressionOptions

    /// Checked before the request runs (`payload_too_large`): ids and messages per request, bytes per message.
    public var inputLimits: InputLimits {
        [
            .maxItems("memoryIds", 10_000, name: "maxMemoryIds"), .maxItems("messages", 100_000, name: "maxMessages"),
            .maxBytes("messages[].content", 4 << 20, name: "maxMessageContentBytes"),
        ]
    }

    public init(options: CompressionOptions = CompressionOptions()) {
        self.options = options
    }

    public func handle(_ request: Request, context: OperationContext) async throws -> CompressionResult {
        let messages = try resolveMessages(request, services: context.services)
        guard request.budgetTokens > 0 else {
            throw OperationError.badRequest(path: "data.budgetTokens", "must be > 0, found \(request.budgetTokens)")
        }
        let keepRecent = request.keepRecent ?? 0
        guard keepRecent >= 0 else {
            throw OperationError.badRequest(path: "data.keepRecent", "must be ≥ 0, found \(keepRecent)")
        }
        let inputBytes = messages.reduce(0) { $0 + $1.content.utf8.count }
        let inputTokens = (inputBytes + TokenEstimator.bytesPerToken - 1) / TokenEstimator.bytesPerToken
        guard inputTokens <= options.maxInputTokens else {
            throw OperationError.payloadTooLarge(
                "context_compress accepts at most \(options.maxInputTokens) estimated tokens; this context has about \(inputTokens)")
        }
        try Task.checkCancellation()
        let compressor = ContextCompressor(duplicateThreshold: options.duplicateThreshold)
        return try compressor.compress(
            messages, budgetTokens: request.budgetTokens, keepRecent: keepRecent, keepSystem: request.keepSystem ?? true
        ) {
            stage, fraction in
            try Task.checkCancellation()
            context.progress(stage.rawValue, fraction)
        }
    }

    private func resolveMessages(_ request: Request, services: ServiceRegistry) throws -> [ContextMessage] {
        switch (request.messages, request.memoryIds) {
        case (let messages?, nil):
            guard !messages.isEmpty else { throw OperationError.badRequest(path: "data.messages", "must not be empty") }
            return messages
        case (nil, let ids?):
            guard !ids.isEmpty else { throw OperationError.badRequest(path: "data.memoryIds", "must not be empty") }
            let store = try services.require(MemoryStore.self)
            var messages: [ContextMessage] = []
            var unknown: [String] = []
            var seenUnknown: Set<String> = []
            for (index, id) in ids.enumerated() {
                if index & 1023 == 1023 { try Task.checkCancellation() }
                if let entry = store.get(id: id) {
                    messages.append(ContextMessage(role: "memory", content: entry.text, label: id))
                } else if seenUnknown.insert(id).inserted {
                    unknown.append(id)
                }
            }
            guard unknown.isEmpty else {
                let shown = unknown.prefix(10).map { "\"\($0)\"" }.joined(separator: ", ")
                let more = unknown.count > 10 ? " and \(unknown.count - 10) more" : ""
                throw OperationError.badRequest(path: "data.memoryIds", "unknown ids \(shown)\(more)")
            }
            return messages
        default:
            throw OperationError.badRequest(path: "data", "expected exactly one of messages or memoryIds")
        }
    }
}
