/// What clients are told about an operation (the `welcome`'s `operations`), and what the router enforces.
///
/// A value whose fields live in one shared, immutable object: a request's descriptor travels through the
/// session, the runner and every message the request sends, and copying one reference is one retain where
/// copying six fields (three strings and an array among them) was five.
package struct OperationDescriptor: Sendable, Hashable {
    private final class Fields: Sendable {
        let messageType: String
        let eventPrefix: String
        let timeout: Duration
        let declaredTimeout: Duration
        let stages: [ProgressStage]
        let pluginName: String?
        /// `<prefix>_progress`, `_chunk`, `_complete`: made once, not for every message.
        let progressType: String
        let chunkType: String
        let completeType: String

        init(
            messageType: String, eventPrefix: String, timeout: Duration, declaredTimeout: Duration,
            stages: [ProgressStage], pluginName: String?
        ) {
            self.messageType = messageType
            self.eventPrefix = eventPrefix
            self.timeout = timeout
            self.declaredTimeout = declaredTimeout
            self.stages = stages
            self.pluginName = pluginName
            progressType = eventPrefix + "_progress"
            chunkType = eventPrefix + "_chunk"
            completeType = eventPrefix + "_complete"
        }
    }

    private let fields: Fields

    package var messageType: String { fields.messageType }
    package var eventPrefix: String { fields.eventPrefix }
    /// The effective timeout: the handler's declared one, or the plugin configuration's override.
    package var timeout: Duration { fields.timeout }
    /// The handler's declared timeout.
    package var declaredTimeout: Duration { fields.declaredTimeout }
    package var stages: [ProgressStage] { fields.stages }
    /// The plugin that provided the handler, if registered through one.
    package var pluginName: String? { fields.pluginName }
    /// The types of the operation's events: `<eventPrefix>_progress`, `_chunk`, `_complete`.
    var progressType: String { fields.progressType }
    var chunkType: String { fields.chunkType }
    var completeType: String { fields.completeType }

    package init(
        messageType: String, eventPrefix: String? = nil, timeout: Duration, declaredTimeout: Duration? = nil,
        stages: [ProgressStage], pluginName: String? = nil
    ) {
        fields = Fields(
            messageType: messageType, eventPrefix: eventPrefix ?? messageType, timeout: timeout,
            declaredTimeout: declaredTimeout ?? timeout, stages: stages, pluginName: pluginName)
    }

    package static func == (lhs: OperationDescriptor, rhs: OperationDescriptor) -> Bool {
        lhs.fields === rhs.fields
            || (lhs.messageType == rhs.messageType && lhs.eventPrefix == rhs.eventPrefix && lhs.timeout == rhs.timeout
                && lhs.declaredTimeout == rhs.declaredTimeout && lhs.stages == rhs.stages && lhs.pluginName == rhs.pluginName)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(messageType)
        hasher.combine(eventPrefix)
        hasher.combine(timeout)
        hasher.combine(declaredTimeout)
        hasher.combine(stages)
        hasher.combine(pluginName)
    }
}

/// A request whose `data` decoded: ready to run.
struct PreparedOperation: Sendable {
    let run: @Sendable (OperationContext) async throws -> ResultFields
}

/// A handler with what its requests share: how its responses are encoded (chosen once for the type) and
/// the size of its last one.
private final class BoundHandler<H: OperationHandler>: Sendable {
    let handler: H
    let encode: @Sendable (H.Response, EncodedSizeHint?) throws -> ResultFields
    let sizeHint = EncodedSizeHint()

    init(_ handler: H) {
        self.handler = handler
        encode = ResultFields.encoder(for: H.Response.self)
    }

    /// `request`, ready to run: its closure holds only this object and the request.
    func prepare(_ request: H.Request) -> PreparedOperation {
        PreparedOperation { [self] context in try encode(try await handler.handle(request, context: context), sizeHint) }
    }
}

/// A type-erased handler: decodes `data` into its `Request`, runs it, encodes its `Response`.
package struct AnyOperation: Sendable {
    package let descriptor: OperationDescriptor
    /// The handler's Swift type name, for diagnostics (never sent to clients).
    package let handlerTypeName: String
    /// The services the handler declared it requires.
    package let requiredServices: [ServiceKey]
    private let decodeAndBind: @Sendable (RequestData) throws -> PreparedOperation

    package init<H: OperationHandler>(_ handler: H, timeout: Duration? = nil, pluginName: String? = nil) {
        descriptor = OperationDescriptor(
            messageType: H.messageType, eventPrefix: H.eventPrefix, timeout: timeout ?? H.timeout,
            declaredTimeout: H.timeout, stages: H.stages, pluginName: pluginName)
        handlerTypeName = String(reflecting: H.self)
        let limits = handler.inputLimits
        requiredServices = H.requiredServices
        let read = Self.fastReader(for: H.Request.self)
        let bound = BoundHandler(handler)
        decodeAndBind = { data in
            if let violation = limits.violation(in: data) { throw violation }
            let request = try read?(data) ?? data.json.decode(H.Request.self, rootName: "data")
            return bound.prepare(request)
        }
    }

    /// An operation defined at run time rather than by a Swift type (e.g. served by an external process):
    /// `handle` receives the request's `data` as JSON and returns the result's fields (a JSON object).
    /// Use `context.progress` / `context.emit` as a typed handler would.
    package init(
        descriptor: OperationDescriptor,
        handle: @escaping @Sendable (_ data: JSONValue, _ context: OperationContext) async throws -> JSONValue
    ) {
        self.descriptor = descriptor
        handlerTypeName = "dynamic(\(descriptor.messageType))"
        requiredServices = []
        decodeAndBind = { data in
            PreparedOperation { context in
                let result = try await handle(data.json, context)
                let fields: [String: JSONValue] = if case .object(let members) = result { members } else { ["value": result] }
                try ResultEncoding.checkEnvelope(fields)
                return ResultFields(fields)
            }
        }
    }

    /// `Request`'s own reader when it is ``JSONValueReadable`` (opened once, not cast per request).
    private static func fastReader<Request: Decodable & Sendable>(for _: Request.Type) -> (@Sendable (RequestData) -> Request?)? {
        func reader<Readable: JSONValueReadable>(_: Readable.Type) -> @Sendable (RequestData) -> Request? {
            precondition(Readable.self == Request.self)
            return { data in Readable(data: data).map { unsafeBitCast($0, to: Request.self) } }
        }
        guard let readable = Request.self as? any JSONValueReadable.Type else { return nil }
        return reader(readable)
    }

    /// A typed request for `handler`, ready to run (a handler run directly, without decoding).
    static func bind<H: OperationHandler>(_ handler: H, _ request: H.Request) -> PreparedOperation {
        BoundHandler(handler).prepare(request)
    }

    /// Decodes a request's `data` (missing `data` is passed as `{}`). Throws ``JSONDecodingFailure``
    /// with the path that failed, or whatever the request type's decoder threw.
    func prepare(data: RequestData) throws -> PreparedOperation {
        try decodeAndBind(data)
    }

    /// Decodes `data` given as a ``JSONValue``, like ``prepare(data:)-(RequestData)``.
    func prepare(data: JSONValue) throws -> PreparedOperation {
        try decodeAndBind(.value(data))
    }
}
