/// A plugin: a name and a factory that builds its handlers from the `options` object of its
/// configuration entry (`{"name", "enabled", "timeoutMs", "options"}`).
///
/// ```swift
/// public let searchPlugin = Plugin(name: "search", options: SearchOptions.self) { settings in
///     [MemorySearchHandler(settings), MemoryIndexHandler()]
/// }
/// try builder.register(plugin: searchPlugin, options: entry.options, timeout: entry.timeout)
/// ```
///
/// A plugin with typed options (``init(name:options:makeHandlers:)``) gets one decoding path: a key its
/// options type does not read is an error naming it (`options.maxChunkSiz: unknown key (did you mean
/// "maxChunkSize"? …)`), then a mistyped value (`options.maxTopTags: expected integer, found string`), then
/// ``PluginOptions/validate()``. A plugin built from a raw ``JSONValue`` factory
/// (``init(name:makeHandlers:)``) declares free-form options: it checks them itself.
public struct Plugin: Sendable {
    public let name: String
    /// The keys its typed options read (what a configuration may set), or nil for free-form options.
    package let optionKeys: [String]?
    private let factory: @Sendable (JSONValue) throws -> [any OperationHandler]

    /// A plugin with free-form options: `makeHandlers` receives the raw object and checks it itself. It
    /// should throw a ``JSONDecodingFailure`` (e.g. via `options.decode(_:rootName:)`) for invalid options.
    public init(name: String, makeHandlers: @escaping @Sendable (_ options: JSONValue) throws -> [any OperationHandler]) {
        self.name = name
        self.optionKeys = nil
        self.factory = makeHandlers
    }

    /// A plugin whose options decode into `Options` (see ``PluginOptions``): unknown keys and invalid
    /// values are refused before `makeHandlers` runs, each with its path under `options`.
    public init<Options: PluginOptions>(
        name: String, options: Options.Type, makeHandlers: @escaping @Sendable (_ options: Options) throws -> [any OperationHandler]
    ) {
        self.name = name
        self.optionKeys = (try? JSONValue.object([:]).decodeRecordingKeys(Options.self, rootName: "options"))?.1
        self.factory = { json in try makeHandlers(try Options.decode(json)) }
    }

    /// A plugin with a fixed set of handlers and no options (any key is refused).
    public init(name: String, handlers: [any OperationHandler]) {
        self.init(name: name, options: NoOptions.self) { _ in handlers }
    }

    /// Builds the handlers for `options` (an empty object when the configuration has none).
    public func makeHandlers(options: JSONValue = .object([:])) throws -> [any OperationHandler] {
        try factory(options)
    }
}

/// A plugin's typed `options`: decoded from its configuration entry by ``Plugin/init(name:options:makeHandlers:)``.
///
/// Read every key with `decodeIfPresent` and fall back to a default, so that `{}` (and an absent `options`)
/// means the defaults; the keys read from `{}` are the plugin's ``Plugin/optionKeys``.
public protocol PluginOptions: Decodable, Sendable {
    /// Checks the decoded values; throw a ``JSONDecodingFailure`` whose path starts with `options.`.
    func validate() throws
}

extension PluginOptions {
    public func validate() throws {}

    /// The one decoding path for plugin options: unknown keys, then types, then ``validate()``; every
    /// failure is a ``JSONDecodingFailure`` with its path under `options`.
    public static func decode(_ json: JSONValue) throws -> Self {
        let (options, read) = try json.decodeRecordingKeys(Self.self, rootName: "options")
        if case .object(let members) = json {
            let unknown = members.keys.filter { !read.contains($0) }.sorted()
            if let failure = PluginOptionsKeys.unknownKeysFailure(unknown, known: read) { throw failure }
        }
        try options.validate()
        return options
    }
}

/// The options of a plugin that takes none.
public struct NoOptions: PluginOptions {
    public init() {}
    public init(from decoder: any Decoder) throws {}
}

enum PluginOptionsKeys {
    static func unknownKeysFailure(_ unknown: [String], known: [String]) -> JSONDecodingFailure? {
        let knownList = known.isEmpty ? "it takes no options" : "known: \(known.joined(separator: ", "))"
        switch unknown.count {
        case 0:
            return nil
        case 1:
            let hint = Suggestion.nearest(unknown[0], in: known).map { "did you mean \"\($0)\"? " } ?? ""
            return JSONDecodingFailure(path: "options.\(unknown[0])", reason: "unknown key (\(hint)\(knownList))")
        default:
            return JSONDecodingFailure(
                path: "options", reason: "unknown keys \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) (\(knownList))")
        }
    }
}
