/// Shared services the host registers for handlers (e.g. the `MemoryStore`), keyed by their type.
///
/// ```swift
/// var services = ServiceRegistry()
/// services.register(store)                  // keyed by MemoryStore.self
/// let store = try context.services.require(MemoryStore.self)
/// ```
public struct ServiceRegistry: Sendable {
    private var services: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    /// Registers `service` under its static type `T`, replacing a previous one.
    public mutating func register<T: Sendable>(_ service: T) {
        services[ObjectIdentifier(T.self)] = service
    }

    /// Registers `service` under `type` (e.g. a protocol it conforms to).
    public mutating func register<T: Sendable>(_ service: T, as type: T.Type) {
        services[ObjectIdentifier(type)] = service
    }

    /// The types services are registered under.
    var keys: Set<ServiceKey> { Set(services.keys.map { ServiceKey(id: $0) }) }

    /// The service registered under `type`, or nil.
    public func get<T>(_ type: T.Type) -> T? {
        services[ObjectIdentifier(type)] as? T
    }

    /// The service registered under `type`; throws a client-facing error naming it if missing
    /// (a host configuration mistake the client should see as a failed operation, not a crash).
    public func require<T>(_ type: T.Type) throws -> T {
        guard let service = get(type) else {
            throw MissingServiceError(typeName: String(describing: type))
        }
        return service
    }
}

/// A handler asked for a service the host did not register. The client sees only that a service is
/// missing (`<type>_error`); the log names the type. A handler that declares it in
/// ``OperationHandler/requiredServices`` is refused when the router is built instead.
public struct MissingServiceError: Error, Sendable, CustomStringConvertible {
    public var typeName: String
    public var description: String { "no service of type \(typeName) is registered" }
}

/// Names a service type, for ``OperationHandler/requiredServices``: `[ServiceKey(MemoryStore.self)]`.
public struct ServiceKey: Sendable, Hashable, CustomStringConvertible {
    let id: ObjectIdentifier
    /// The type's name (for logs and startup errors, never sent to clients).
    public let name: String

    public init<T>(_ type: T.Type) {
        id = ObjectIdentifier(type)
        name = String(describing: type)
    }

    init(id: ObjectIdentifier) {
        self.id = id
        name = "?"
    }

    public static func == (lhs: ServiceKey, rhs: ServiceKey) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
    public var description: String { name }
}
