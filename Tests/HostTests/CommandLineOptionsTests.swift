@testable import RouterHost
import Testing

@Suite("router-host command line")
struct CommandLineOptionsTests {
    @Test func noArgumentsMeansTheEmbeddedDefault() throws {
        #expect(try CommandLineOptions.parse([]) == CommandLineOptions())
    }

    @Test func everyOptionInBothSpellings() throws {
        let options = try CommandLineOptions.parse(["--config", "a.json", "--port=9000", "--data", "/tmp/d", "--check-config"])
        #expect(options == CommandLineOptions(configPath: "a.json", port: 9000, dataDirectory: "/tmp/d", checkConfig: true, help: false))
        #expect(try CommandLineOptions.parse(["--config=b.json"]).configPath == "b.json")
        #expect(try CommandLineOptions.parse(["-h"]).help)
        #expect(try CommandLineOptions.parse(["--help"]).help)
    }

    @Test func repairIsASubcommandOrAFlag() throws {
        let subcommand = try CommandLineOptions.parse(["repair", "--data", "/tmp/d"])
        #expect(subcommand.repair && subcommand.dataDirectory == "/tmp/d")
        #expect(try CommandLineOptions.parse(["--data=/tmp/d", "--repair"]).repair)
        #expect(try !CommandLineOptions.parse(["--data", "/tmp/d"]).repair)
        #expect(throws: CommandLineOptions.Error.self) { try CommandLineOptions.parse(["--data", "/tmp/d", "repair"]) }
    }

    @Test(arguments: [
        (["--prot", "9000"], "unknown option '--prot' (did you mean '--port'?)"),
        (["--verbose"], "unknown option '--verbose' (see --help)"),
        (["--port", "abc"], "--port: expected an integer between 0 and 65535, got 'abc'"),
        (["--port", "70000"], "--port: expected an integer between 0 and 65535, got '70000'"),
        (["--config"], "--config: missing value"),
        (["--data", "--port", "1"], "--data: missing value"),
    ])
    func badCommandLinesFailWithOneLine(arguments: [String], message: String) {
        #expect(throws: CommandLineOptions.Error(description: message)) {
            try CommandLineOptions.parse(arguments)
        }
    }

    @Test func helpDocumentsEveryOption() {
        for name in CommandLineOptions.optionNames {
            #expect(CommandLineOptions.helpText.contains(name), "\(name) missing from --help")
        }
        #expect(CommandLineOptions.helpText.contains("CONFIG.md"))
    }
}
