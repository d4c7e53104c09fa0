import Foundation
import MemoryStore

/// The query set of `router-bench search`: `count` queries, each 2–3 terms drawn (``BenchRandom`` seed 7)
/// from the normalized terms of a random corpus entry, and that entry's embedding with uniform noise in
/// ±0.05 per lane.
enum SearchQueries {
    static func generate(entries: [MemoryEntry], count: Int, tokenizer snapshot: SearchSnapshot)
        -> [(text: String, embedding: [Float])]
    {
        var random = BenchRandom(seed: 7)
        return (0..<count).map { _ in
            let entry = entries[Int(random.next() % UInt64(entries.count))]
            var terms = snapshot.queryTerms(entry.text)
            let count = 2 + Int(random.next() % 2)
            var picked: [String] = []
            while picked.count < count && !terms.isEmpty {
                picked.append(terms.remove(at: Int(random.next() % UInt64(terms.count))))
            }
            let embedding = (entry.embedding ?? []).map { $0 + Float(Int(random.next() % 200) - 100) / 2000 }
            return (picked.joined(separator: " "), embedding)
        }
    }
}

/// `router-bench export`: writes the corpus and query set that `router-bench search` times, so other engines
/// (scripts/bench-search-anchors.sh) can run exactly the same queries over exactly the same data.
///
/// ```
/// router-bench export --directory DIR [--entries 100000] [--dimension 384] [--queries 64]
/// ```
///
/// Files in `DIR`:
/// - `corpus.jsonl`: one `{"id", "text", "tags", "createdAt"}` per line, in id order (``SyntheticMemories``,
///   seed 42, the generator `search` uses);
/// - `embeddings.f32`: the corpus embeddings, `entries × dimension` little-endian float32, row i = line i;
/// - `queries.jsonl`: one `{"text", "terms", "embedding"}` per line (``SearchQueries``; `terms` is the text
///   split into the router's normalized terms);
/// - `queries.f32`: the query embeddings, `queries × dimension` float32;
/// - `manifest.json`: `entries`, `dimension`, `queries`, `seed`, `querySeed`, `limit` (the search plugin's
///   default, 10).
enum CorpusExport {
    struct Settings {
        var entries = 100_000
        var dimension = 384
        var queries = 64
        var directory: String?
    }

    static func run(arguments: [String]) throws {
        let settings = try parse(arguments)
        guard let directory = settings.directory else { throw BenchmarkFailure("export: --directory is required") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw BenchmarkFailure("export: cannot create directory \(directory): \(error.localizedDescription)")
        }
        let started = ContinuousClock.now
        let entries = SyntheticMemories.generate(count: settings.entries, seed: 42, dimension: settings.dimension)
        // The tokenizer is the store's, whatever it holds: an empty store's snapshot splits queries the same way.
        let snapshot = MemoryStore.inMemory(dimension: settings.dimension).searchSnapshot()
        let queries = SearchQueries.generate(entries: entries, count: settings.queries, tokenizer: snapshot)

        var corpus = FileSink(path: directory + "/corpus.jsonl")
        var vectors = FileSink(path: directory + "/embeddings.f32")
        for entry in entries {
            corpus.append(
                "{\"id\":\(jsonString(entry.id)),\"text\":\(jsonString(entry.text)),\"tags\":["
                    + entry.tags.map(jsonString).joined(separator: ",") + "],\"createdAt\":"
                    + jsonString(entry.createdAt.formatted(.iso8601)) + "}\n")
            vectors.append(entry.embedding ?? [])
        }
        try corpus.close()
        try vectors.close()

        var queryLines = FileSink(path: directory + "/queries.jsonl")
        var queryVectors = FileSink(path: directory + "/queries.f32")
        for query in queries {
            let terms = snapshot.queryTerms(query.text).map(jsonString).joined(separator: ",")
            let embedding = query.embedding.map { "\($0)" }.joined(separator: ",")
            queryLines.append("{\"text\":\(jsonString(query.text)),\"terms\":[\(terms)],\"embedding\":[\(embedding)]}\n")
            queryVectors.append(query.embedding)
        }
        try queryLines.close()
        try queryVectors.close()

        let manifest = """
            {"entries":\(settings.entries),"dimension":\(settings.dimension),"queries":\(settings.queries),\
            "seed":42,"querySeed":7,"limit":10}

            """
        try manifest.write(toFile: directory + "/manifest.json", atomically: true, encoding: .utf8)
        print(
            "exported \(settings.entries) entries (dimension \(settings.dimension)) and \(settings.queries) queries "
                + "to \(directory) in \(SearchBenchmarks.format(ContinuousClock.now - started))")
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything else verbatim.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    static func parse(_ arguments: [String]) throws -> Settings {
        var settings = Settings()
        var remaining = arguments[...]
        func int(_ name: String) throws -> Int {
            guard let text = remaining.popFirst(), let value = Int(text.replacingOccurrences(of: "_", with: "")),
                value > 0
            else {
                throw BenchmarkFailure("\(name) expects a positive integer")
            }
            return value
        }
        while let argument = remaining.popFirst() {
            switch argument {
            case "--entries": settings.entries = try int(argument)
            case "--dimension": settings.dimension = try int(argument)
            case "--queries": settings.queries = try int(argument)
            case "--directory":
                guard let path = remaining.popFirst() else { throw BenchmarkFailure("--directory expects a path") }
                settings.directory = path
            default: throw BenchmarkFailure("export: unknown argument \(argument)")
            }
        }
        return settings
    }
}

/// Buffered writes to a new file (truncating one that exists); errors surface at `close()`.
struct FileSink {
    private let path: String
    private var buffer: [UInt8] = []
    private var handle: FileHandle?
    private var failure: (any Error)?

    init(path: String) {
        self.path = path
        if FileManager.default.createFile(atPath: path, contents: nil) {
            handle = FileHandle(forWritingAtPath: path)
        }
        if handle == nil { failure = BenchmarkFailure("cannot create \(path)") }
        buffer.reserveCapacity(1 << 20)
    }

    mutating func append(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    /// Appends floats as little-endian float32.
    mutating func append(_ values: [Float]) {
        for value in values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { buffer.append(contentsOf: $0) }
        }
        if buffer.count >= 1 << 20 { flush() }
    }

    private mutating func flush() {
        guard let handle, failure == nil, !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch { failure = error }
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() throws {
        flush()
        try handle?.close()
        if let failure { throw BenchmarkFailure("writing \(path): \(failure)") }
    }
}
