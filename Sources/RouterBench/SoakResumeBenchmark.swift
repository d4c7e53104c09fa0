import Foundation
import RouterClient
import RouterCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `router-bench soak-resume`: many ``RouterClient``s against a running router-host, each running
/// `text_stats` operations (the example external plugin: one chunk per paragraph, a pause per
/// paragraph) back to back while its socket is dropped at random (no close frame: the session
/// detaches and the client resumes). Every operation is checked for exactly-once delivery: each
/// paragraph chunk once and in order, `seq` strictly increasing, one result with the right count.
/// Run by `scripts/soak-resume.sh`; never part of `swift test`.
enum SoakResumeBenchmark {
    struct Tally: Sendable {
        var started = 0
        var exactlyOnce = 0
        var lost = 0
        var duplicated = 0
        var otherwiseWrong = 0
        var errors: [String: Int] = [:]
        var samples: [String] = []

        mutating func merge(_ other: Tally) {
            started += other.started
            exactlyOnce += other.exactlyOnce
            lost += other.lost
            duplicated += other.duplicated
            otherwiseWrong += other.otherwiseWrong
            errors.merge(other.errors, uniquingKeysWith: +)
            samples += other.samples.prefix(max(0, 10 - samples.count))
        }
    }

    static func run(arguments: [String]) async throws {
        guard let url = RouterBench.value("--url", in: arguments) else {
            throw SoakError("soak-resume needs --url ws://host:port/ws/memory")
        }
        let clients = RouterBench.option("--clients", in: arguments, default: 200)
        let seconds = RouterBench.option("--seconds", in: arguments, default: 600)
        let meanDropMs = RouterBench.option("--mean-drop-ms", in: arguments, default: 5000)
        let serverPID = RouterBench.value("--server-pid", in: arguments).flatMap { Int32($0) }
        print("soak-resume: \(clients) clients for \(seconds) s against \(url); each drops its socket every ~\(meanDropMs) ms (exponential)")

        let options = {
            var options = RouterClient.Options()
            options.reconnect = .init(initialDelay: .milliseconds(100), maximumDelay: .seconds(2))
            options.connectTimeout = .seconds(20)
            return options
        }()
        let deadline = ContinuousClock.now + .seconds(seconds)
        let peak = Atomic<Int>(0)
        let sampler = Task {
            while !Task.isCancelled {
                if let serverPID { peak.max(residentPeakKiB(pid: serverPID), ordering: .relaxed) }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        let started = ContinuousClock.now
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                if Task.isCancelled { break }
                let elapsed = Int((ContinuousClock.now - started).inSeconds)
                print("… \(elapsed) s")
            }
        }

        let results = try await withThrowingTaskGroup(of: (Tally, RouterClient.Statistics).self) { group in
            for index in 0..<clients {
                group.addTask {
                    // Stagger the connects over the first second.
                    try await Task.sleep(for: .milliseconds(Int64(index * 1000 / max(clients, 1))))
                    let client = try await RouterClient.connect(url: url, options: options)
                    let dropper = Task {
                        while !Task.isCancelled {
                            let wait = -log(1 - Double.random(in: 0..<1)) * Double(meanDropMs)
                            try await Task.sleep(for: .milliseconds(Int64(wait)))
                            client.dropConnection()
                        }
                    }
                    var tally = Tally()
                    while ContinuousClock.now < deadline {
                        tally.merge(await runOne(client))
                    }
                    dropper.cancel()
                    let statistics = client.statistics
                    await client.close()
                    return (tally, statistics)
                }
            }
            var total = Tally()
            var statistics: [RouterClient.Statistics] = []
            for try await (tally, stats) in group {
                total.merge(tally)
                statistics.append(stats)
            }
            return (total, statistics)
        }
        sampler.cancel()
        progress.cancel()
        if let serverPID { peak.max(residentPeakKiB(pid: serverPID), ordering: .relaxed) }
        let (tally, statistics) = results
        var failures: [String: Int] = [:]
        for stats in statistics { failures.merge(stats.resumeFailures, uniquingKeysWith: +) }
        let sum = { (path: KeyPath<RouterClient.Statistics, Int>) in statistics.reduce(0) { $0 + $1[keyPath: path] } }
        print("operations started:            \(tally.started)")
        print("completed exactly once:        \(tally.exactlyOnce)")
        print("lost:                          \(tally.lost)")
        print("duplicated:                    \(tally.duplicated)")
        print("otherwise wrong (gap/order):   \(tally.otherwiseWrong)")
        if !tally.errors.isEmpty { print("errors by code:                \(tally.errors.sorted { $0.key < $1.key })") }
        for sample in tally.samples { print("  e.g. \(sample)") }
        print("connection drops:              \(sum(\.drops))")
        print("resumes by outcome:            resumed=\(sum(\.resumes))"
            + failures.sorted { $0.key < $1.key }.map { " resume_failed(\($0.key))=\($0.value)" }.joined())
        print("fresh sessions:                \(sum(\.sessionsStarted)) (\(clients) initial)")
        print("requests re-sent after resume: \(sum(\.requestsResent))")
        print("replayed duplicates dropped:   \(sum(\.duplicatesDropped)); seq gaps seen: \(sum(\.seqGaps))")
        print("failed connect attempts:       \(sum(\.failedAttempts)); acks sent: \(sum(\.acksSent))")
        if serverPID != nil {
            print("peak RSS of the host:          \(String(format: "%.1f", Double(peak.load(ordering: .relaxed)) / 1024)) MiB (VmHWM)")
        }
        if tally.lost > 0 || tally.duplicated > 0 || tally.otherwiseWrong > 0 { exit(1) }
    }

    /// One `text_stats` run with 4–16 paragraphs and a 20–120 ms pause per paragraph.
    private static func runOne(_ client: RouterClient) async -> Tally {
        var tally = Tally()
        tally.started = 1
        let paragraphs = Int.random(in: 4...16)
        let text = (0..<paragraphs).map { "Paragraph \($0) says something. Then more." }.joined(separator: "\n\n")
        let delay = Int.random(in: 20...120)
        var chunks: [Int] = []
        var seqs: [UInt64] = []
        var results = 0
        var resultCount: Int?
        do {
            for try await event in client.request(type: "text_stats", data: ["text": .string(text), "delayMs": .number(Double(delay))]) {
                seqs.append(event.seq)
                switch event.kind {
                case .chunk:
                    if case .number(let value)? = event.message["paragraph"] { chunks.append(Int(value)) }
                case .result:
                    results += 1
                    if case .number(let value)? = event.message["paragraphs"] { resultCount = Int(value) }
                case .progress: break
                }
            }
        } catch let error as RouterError {
            tally.errors[error.code, default: 0] += 1
            tally.lost = 1
            tally.samples.append("\(error)")
            return tally
        } catch {
            tally.errors["\(error)", default: 0] += 1
            tally.lost = 1
            return tally
        }
        let duplicate = Set(chunks).count != chunks.count || Set(seqs).count != seqs.count || results > 1
        if duplicate {
            tally.duplicated = 1
            tally.samples.append("duplicate: chunks \(chunks) results \(results)")
        } else if chunks != Array(0..<paragraphs) || results != 1 || resultCount != paragraphs
            || !zip(seqs, seqs.dropFirst()).allSatisfy({ $0 < $1 })
        {
            tally.otherwiseWrong = 1
            tally.samples.append("wrong: chunks \(chunks) of \(paragraphs), results \(results)")
        } else {
            tally.exactlyOnce = 1
        }
        return tally
    }

    /// VmHWM (peak resident set) of `pid` in KiB, 0 if unreadable.
    private static func residentPeakKiB(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) ?? 0
        }
        return 0
    }
}

struct SoakError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
