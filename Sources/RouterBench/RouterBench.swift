import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `router-bench`: benchmarks run by hand (`swift run -c release router-bench <name>`), never inside tests.
@main
enum RouterBench {
    static let usage = """
        usage: router-bench <benchmark> [options]
          router [--connections N] [--seconds S]   request→complete round trips through the router over loopback
        The transport (echo) benchmark uses ../shared/tools/bench: see scripts/bench.sh and BENCHMARKS.md.
        """

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first else {
            print(usage)
            exit(2)
        }
        let rest = Array(arguments.dropFirst())
        do {
            switch name {
            case "router": try await RouterRoundTripBenchmark.run(arguments: rest)
            default:
                print("unknown benchmark '\(name)'\n\(usage)")
                exit(2)
            }
        } catch {
            var text = "router-bench: \(error)\n"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
    }

    /// `--name value` from an argument list.
    static func option(_ name: String, in arguments: [String], default fallback: Int) -> Int {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
            return fallback
        }
        return value
    }
}
