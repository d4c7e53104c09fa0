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
          search [--sizes 100000,1000000] [--iterations 100] [--dimension 384] [--index-batches 50] [--index-batch-size 100]
                 [--modes bm25,cosine,hybrid] [--store-modes bm25,cosine] [--queries 64] [--no-cancel] [--no-index]
                                                   memory_search latency p50/p99 and memory_index throughput
          export --directory DIR [--entries 100000] [--dimension 384] [--queries 64]
                                                   write search's corpus and queries for other engines (scripts/bench-search-anchors.sh)
          plugins                                  context_compress on 200k tokens, memory_stream export throughput
          compaction [--entries 1000000] [--dimension 0] [--writers 1]
                                                   memory log compaction under concurrent writes and searches
          ping --port P [--connections 50] [--window 8] [--seconds 10] [--server-pid PID]
                                                   app-level ping→pong through a running router vs its raw echo endpoint
          soak-resume --url ws://H:P/ws/memory [--clients 200] [--seconds 600] [--mean-drop-ms 5000] [--server-pid PID]
                                                   RouterClients with random socket drops; exactly-once check (scripts/soak-resume.sh)
          redis --url redis://H:P/db [--sizes 100000,1000000] [--batches 2000] [--batch-size 10] [--writers 1]
                                                   Redis backend: index throughput vs the local log, start-up from a snapshot
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
            case "search": try await SearchBenchmarks.run(arguments: rest)
            case "export": try CorpusExport.run(arguments: rest)
            case "plugins": try await PluginBenchmarks.run(arguments: rest)
            case "ping": try PingPongBenchmark.run(arguments: rest)
            case "compaction": try CompactionBenchmark.run(arguments: rest)
            case "soak-resume": try await SoakResumeBenchmark.run(arguments: rest)
            case "redis": try await RedisBenchmark.run(arguments: rest)
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

    /// `--name value` from an argument list, as an integer.
    static func option(_ name: String, in arguments: [String], default fallback: Int) -> Int {
        value(name, in: arguments).flatMap { Int($0) } ?? fallback
    }

    /// The value after `--name` in an argument list, if any.
    static func value(_ name: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number (for rates).
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
