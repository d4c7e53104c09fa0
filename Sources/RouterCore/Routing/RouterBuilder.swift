/// Why a handler could not be registered.
package enum RouterBuilderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two handlers claim the same message type; both registrations are named.
    case duplicateMessageType(String, first: String, second: String)
    /// Two handlers would send events with the same prefix (`<prefix>_complete` would be ambiguous).
    case duplicateEventPrefix(String, first: String, second: String)
    /// A message type or prefix that is empty, or one of the protocol's own (`cancel`, `ping`, …).
    case reservedName(String, handler: String)
    /// A timeout override that is not positive.
    case invalidTimeout(messageType: String, timeout: Duration)
    /// A plugin's factory threw (e.g. invalid `options`).
    case pluginFailed(plugin: String, reason: String)
    /// A handler requires a service (``OperationHandler/requiredServices``) the host does not register.
    case missingService(String, handler: String)

    package var description: String {
        switch self {
        case .duplicateMessageType(let type, let first, let second):
            "message type \"\(type)\" is registered twice: by \(first) and by \(second)"
        case .duplicateEventPrefix(let prefix, let first, let second):
            "event prefix \"\(prefix)\" is used twice: by \(first) and by \(second)"
        case .reservedName(let name, let handler):
            "\(handler) uses the reserved or empty name \"\(name)\""
        case .invalidTimeout(let type, let timeout):
            "timeout for \"\(type)\" must be > 0, got \(timeout)"
        case .pluginFailed(let plugin, let reason):
            "plugin \"\(plugin)\": \(reason)"
        case .missingService(let service, let handler):
            "\(handler) requires the service \(service), which the host does not register"
        }
    }
}

/// Collects handlers and plugins, validates them, and freezes into an immutable ``Router``.
///
/// ```swift
/// let router = try RouterBuilder()
///     .register(MemorySearchHandler())
///     .register(plugin: compressionPlugin, options: entry.options, timeout: .seconds(60))
///     .build()
/// ```
package final class RouterBuilder {
    private var operations: [AnyOperation] = []

    /// Names a client or the protocol uses itself; no operation may take them.
    static let reservedTypes: Set<String> = [
        "cancel", "ping", "pong", "resume", "resumed", "resume_failed", "welcome", "error",
    ]

    package init() {}

    /// Whether `name` cannot be a message type or event prefix: empty, or one of the protocol's own names.
    package static func isReserved(_ name: String) -> Bool {
        name.isEmpty || reservedTypes.contains(name)
    }

    /// Registers one handler; `timeout` overrides its declared timeout (e.g. from configuration).
    @discardableResult
    package func register(_ handler: some OperationHandler, timeout: Duration? = nil) throws(RouterBuilderError) -> RouterBuilder {
        try add(AnyOperation(handler, timeout: timeout))
    }

    /// Registers a type-erased operation (see ``AnyOperation/init(descriptor:handle:)``).
    @discardableResult
    package func register(operation: AnyOperation) throws(RouterBuilderError) -> RouterBuilder {
        try add(operation)
    }

    /// Registers an existential handler (e.g. from a plugin's factory).
    @discardableResult
    package func register(any handler: any OperationHandler, timeout: Duration? = nil, pluginName: String? = nil)
        throws(RouterBuilderError) -> RouterBuilder
    {
        try add(Self.erase(handler, timeout: timeout, pluginName: pluginName))
    }

    /// Builds a plugin's handlers from `options` and registers them; `timeout` (the plugin's
    /// configured timeout) replaces each handler's declared one.
    @discardableResult
    package func register(plugin: Plugin, options: JSONValue = .object([:]), timeout: Duration? = nil)
        throws(RouterBuilderError) -> RouterBuilder
    {
        let handlers: [any OperationHandler]
        do {
            handlers = try plugin.makeHandlers(options: options)
        } catch {
            throw .pluginFailed(plugin: plugin.name, reason: String(describing: error))
        }
        for handler in handlers {
            try register(any: handler, timeout: timeout, pluginName: plugin.name)
        }
        return self
    }

    /// The immutable router.
    package func build() -> Router {
        Router(operations)
    }

    /// The immutable router, checked against the services the host registers: a handler's
    /// ``OperationHandler/requiredServices`` missing from `services` is an error now, not per request.
    package func build(services: ServiceRegistry) throws(RouterBuilderError) -> Router {
        if let missing = missingServices(available: services.keys).first { throw missing }
        return build()
    }

    /// Every required service missing from `available`, one error per handler and service.
    package func missingServices(available: Set<ServiceKey>) -> [RouterBuilderError] {
        operations.flatMap { operation in
            operation.requiredServices.filter { !available.contains($0) }.map {
                RouterBuilderError.missingService($0.name, handler: Self.describe(operation))
            }
        }
    }

    private static func erase(_ handler: some OperationHandler, timeout: Duration?, pluginName: String?) -> AnyOperation {
        AnyOperation(handler, timeout: timeout, pluginName: pluginName)
    }

    private static func describe(_ operation: AnyOperation) -> String {
        if let plugin = operation.descriptor.pluginName {
            return "\(operation.handlerTypeName) (plugin \"\(plugin)\")"
        }
        return operation.handlerTypeName
    }

    private func add(_ operation: AnyOperation) throws(RouterBuilderError) -> RouterBuilder {
        let descriptor = operation.descriptor
        for name in [descriptor.messageType, descriptor.eventPrefix] where name.isEmpty || Self.reservedTypes.contains(name) {
            throw .reservedName(name, handler: Self.describe(operation))
        }
        guard descriptor.timeout > .zero else {
            throw .invalidTimeout(messageType: descriptor.messageType, timeout: descriptor.timeout)
        }
        if let existing = operations.first(where: { $0.descriptor.messageType == descriptor.messageType }) {
            throw .duplicateMessageType(descriptor.messageType, first: Self.describe(existing), second: Self.describe(operation))
        }
        if let existing = operations.first(where: { $0.descriptor.eventPrefix == descriptor.eventPrefix }) {
            throw .duplicateEventPrefix(descriptor.eventPrefix, first: Self.describe(existing), second: Self.describe(operation))
        }
        operations.append(operation)
        return self
    }
}
