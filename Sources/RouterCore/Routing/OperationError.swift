/// An error that knows how to present itself to the client: its `code` and `message` are sent
/// verbatim in the `error` event that ends the request.
///
/// Any other error a handler throws becomes `<type>_error` with a message that says the operation
/// failed; a `LocalizedError`'s `errorDescription` is included (it is written for people), nothing
/// else is (no type names, no stack traces). The full error is logged server-side.
public protocol ClientFacingError: Error {
    /// A snake_case error code, e.g. `payload_too_large`.
    var code: String { get }
    /// A sentence for the user; never internals.
    var message: String { get }
}

/// A ready-made ``ClientFacingError``.
public struct OperationError: ClientFacingError, Sendable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `bad_request` for a parameter the handler rejected after decoding, e.g. `badRequest(path: "data.limit", "must be ≤ 100")`.
    public static func badRequest(path: String, _ reason: String) -> OperationError {
        OperationError(code: ErrorCode.badRequest, message: "\(path): \(reason)")
    }

    /// `payload_too_large` for a request over an operation's own limit (e.g. a `memory_index` batch).
    public static func payloadTooLarge(_ message: String) -> OperationError {
        OperationError(code: ErrorCode.payloadTooLarge, message: message)
    }
}

/// The error codes of the wire protocol (DESIGN §4).
public enum ErrorCode {
    public static let badRequest = "bad_request"
    public static let unknownOperation = "unknown_operation"
    public static let unknownRequest = "unknown_request"
    public static let overloaded = "overloaded"
    public static let duplicateID = "duplicate_id"
    public static let payloadTooLarge = "payload_too_large"
    public static let cancelled = "cancelled"
    public static let unauthorized = "unauthorized"
    /// A connection sent messages faster than its rate limit (`limits.messagesPerSecond`).
    public static let rateLimited = "rate_limited"
    /// `<type>_timeout`, e.g. `memory_search_timeout`.
    public static func timeout(_ messageType: String) -> String { "\(messageType)_timeout" }
    /// `<type>_error`, e.g. `memory_search_error`.
    public static func failed(_ messageType: String) -> String { "\(messageType)_error" }
}
