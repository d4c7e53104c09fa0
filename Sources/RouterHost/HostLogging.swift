import RouterCore

enum HostLogging {
    static func logger(_ logging: RouterConfiguration.Logging) -> Logger {
        let level = Logger.Level(rawValue: logging.level) ?? .info
        let handler = StderrLogHandler(format: logging.format == "json" ? .json : .text)
        return Logger(label: "router-host", level: level, handler: handler)
    }
}
