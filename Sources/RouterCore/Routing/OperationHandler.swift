/// One long-running memory operation, served under one message type (DESIGN §5).
///
/// The router decodes the request's `data` into ``Request`` (a failure is answered with
/// `bad_request` and the JSON path that failed), runs ``handle(_:context:)`` as its own task, and
/// encodes the returned ``Response`` as the fields of `<prefix>_complete`. The router enforces
/// ``timeout`` (the handler's task is cancelled and the client gets `<type>_timeout`), turns a
/// thrown error into `<type>_error` (or the code of a ``ClientFacingError``), limits concurrency
/// and records metrics.
///
/// ```swift
/// struct EchoHandler: OperationHandler {
///     struct Request: Decodable, Sendable { var text: String }
///     struct Response: Encodable, Sendable { var text: String }
///     static let messageType = "echo"
///     static let timeout: Duration = .seconds(5)
///     static let stages = [ProgressStage("echo")]
///     func handle(_ request: Request, context: OperationContext) async throws -> Response {
///         context.progress("echo", 1)
///         return Response(text: request.text)
///     }
/// }
/// ```
public protocol OperationHandler: Sendable {
    /// The request's parameters, decoded from the client message's `data` object.
    associatedtype Request: Decodable & Sendable
    /// The result; it must encode as a JSON object, whose members become the fields of `<prefix>_complete`.
    associatedtype Response: Encodable & Sendable

    /// The request `type` on the wire, e.g. `memory_search`.
    static var messageType: String { get }
    /// The prefix of the operation's events (`<prefix>_progress`, `_chunk`, `_complete`); defaults to ``messageType``.
    static var eventPrefix: String { get }
    /// The declared maximum duration. A plugin's configured timeout replaces it; a request's `timeout` may only shorten it.
    static var timeout: Duration { get }
    /// The ordered progress stages, each with a relative weight. May be empty (no progress events).
    static var stages: [ProgressStage] { get }
    /// Limits on the request's `data` (ids per request, query terms, entries per batch, bytes), checked before
    /// decoding and before ``handle(_:context:)``: past one the client gets `payload_too_large` naming the
    /// field and the limit. Defaults to ``InputLimits/none``.
    var inputLimits: InputLimits { get }
    /// The services it takes from `context.services` (default none). A router built with
    /// ``RouterBuilder/build(services:)`` refuses to start without them, instead of failing each request.
    static var requiredServices: [ServiceKey] { get }

    /// Runs one request. Runs as a task of its own, never on an event-loop thread; it is cancelled on
    /// timeout, on the client's `cancel`, and when the connection closes: check `Task.checkCancellation()`.
    func handle(_ request: Request, context: OperationContext) async throws -> Response
}

extension OperationHandler {
    public static var eventPrefix: String { messageType }
    public var inputLimits: InputLimits { .none }
    public static var requiredServices: [ServiceKey] { [] }
}
