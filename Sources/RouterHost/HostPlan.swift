import RouterCore

/// A configuration checked as far as it can be without starting anything: every enabled Swift plugin's
/// factory has run on its `options`, and their handlers are registered into a builder (so message types and
/// event prefixes do not clash), and external plugins' message types do not clash with them.
///
/// `--check-config` and the host make this same plan, so they accept and refuse the same configurations,
/// with the same messages (each with its JSON path) and exit code 2.
struct HostPlan {
    let configuration: RouterConfiguration
    /// The Swift plugins' operations; the host adds the external plugins' once they described themselves.
    let builder: RouterBuilder

    static func make(_ configuration: RouterConfiguration, catalog: PluginCatalog) -> Result<HostPlan, ConfigurationErrors> {
        let builder = RouterBuilder()
        var issues: [ConfigurationIssue] = []
        // (JSON path of the entry, entry); with no `plugins` list, every plugin of the catalog with its defaults.
        let entries: [(path: String, entry: PluginEntry)]
        if let configured = configuration.plugins {
            entries = configured.enumerated().map { ("plugins[\($0.offset)]", $0.element) }
        } else {
            entries = catalog.names.map { ("plugins (default) \"\($0)\"", .builtIn(BuiltInPluginEntry(name: $0))) }
        }
        var servedBy: [String: String] = [:]  // message type → plugin name
        for (path, entry) in entries {
            guard case .builtIn(let builtIn) = entry, builtIn.enabled, let plugin = catalog.plugin(named: builtIn.name) else { continue }
            let handlers: [any OperationHandler]
            do {
                handlers = try plugin.makeHandlers(options: builtIn.options)
            } catch let failure as JSONDecodingFailure {
                issues.append(Self.optionsIssue(failure, entryPath: path))
                continue
            } catch {
                issues.append(ConfigurationIssue(path: "\(path).options", reason: String(describing: error)))
                continue
            }
            let timeout = builtIn.timeoutMs.map { Duration.milliseconds($0) }
            for handler in handlers {
                do {
                    try builder.register(any: handler, timeout: timeout, pluginName: plugin.name)
                    servedBy[type(of: handler).messageType] = plugin.name
                } catch {
                    issues.append(ConfigurationIssue(path: path, reason: error.description))
                }
            }
        }
        for (path, entry) in entries {
            guard case .external(let external) = entry else { continue }
            for (index, type) in external.messageTypes.enumerated() {
                let typePath = "\(path).messageTypes[\(index)]"
                if RouterBuilder.isReserved(type) {
                    issues.append(ConfigurationIssue(path: typePath, reason: "\"\(type)\" is reserved by the protocol or empty"))
                } else if let other = servedBy[type] {
                    issues.append(ConfigurationIssue(path: typePath, reason: "message type \"\(type)\" is also served by plugin \"\(other)\""))
                } else {
                    servedBy[type] = external.name
                }
            }
        }
        for missing in builder.missingServices(available: HostServices.providedKeys) {
            issues.append(ConfigurationIssue(path: "plugins", reason: missing.description))
        }
        guard issues.isEmpty else { return .failure(ConfigurationErrors(issues)) }
        return .success(HostPlan(configuration: configuration, builder: builder))
    }

    /// A factory's decoding failure under its entry: `options.maxTopTags` → `plugins[1].options.maxTopTags`.
    static func optionsIssue(_ failure: JSONDecodingFailure, entryPath: String) -> ConfigurationIssue {
        if failure.path == "options" || failure.path.hasPrefix("options.") || failure.path.hasPrefix("options[") {
            return ConfigurationIssue(path: "\(entryPath).\(failure.path)", reason: failure.reason)
        }
        let path = failure.path.isEmpty ? "\(entryPath).options" : "\(entryPath).options.\(failure.path)"
        return ConfigurationIssue(path: path, reason: failure.reason)
    }
}
