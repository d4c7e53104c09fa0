/// A plugin: a name and a factory that builds its handlers from the `options` object of its
/// configuration entry (`{"name", "enabled", "timeout", "options"}`).
///
/// ```swift
/// public let searchPlugin = Plugin(name: "search") { options in
///     let settings = try options.decode(SearchOptions.self, rootName: "options")
///     return [MemorySearchHandler(settings), MemoryIndexHandler()]
/// }
/// try builder.register(plugin: searchPlugin, options: entry.options, timeout: entry.timeout)
/// ```
public struct Plugin: Sendable {
    public let name: String
    private let factory: @Sendable (JSONValue) throws -> [any OperationHandler]

    /// A plugin whose handlers depend on its options. The factory should throw a
    /// ``JSONDecodingFailure`` (e.g. via `options.decode(_:rootName:)`) for invalid options.
    public init(name: String, makeHandlers: @escaping @Sendable (_ options: JSONValue) throws -> [any OperationHandler]) {
        self.name = name
        self.factory = makeHandlers
    }

    /// A plugin with a fixed set of handlers that ignores its options.
    public init(name: String, handlers: [any OperationHandler]) {
        self.name = name
        self.factory = { _ in handlers }
    }

    /// Builds the handlers for `options` (an empty object when the configuration has none).
    public func makeHandlers(options: JSONValue = .object([:])) throws -> [any OperationHandler] {
        try factory(options)
    }
}
