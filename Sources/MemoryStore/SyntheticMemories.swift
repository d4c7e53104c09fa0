public import Foundation

/// Deterministic generator of realistic-looking assistant memories (preferences, personal facts, project
/// notes, conversation excerpts, reminders) for benchmarks, tests and the host's sample data.
///
/// The same `(count, seed, dimension, start)` always yields the same entries: ids `mem-000001`…, text from
/// hand-written templates filled with varied values, tags (the kind plus topic tags, e.g. `["project",
/// "atlas", "work"]`), `createdAt` spread uniformly over the two years after `start` (millisecond precision),
/// and, if `dimension` is given, embeddings clustered by kind and topic (so cosine search finds related
/// memories) with per-entry noise.
public enum SyntheticMemories {
    /// 2023-07-01T00:00:00Z, the default start of the generated time span.
    public static let defaultStart = Date(timeIntervalSince1970: 1_688_169_600)
    /// The span covered by `createdAt`: two years.
    public static let span: TimeInterval = 730 * 86_400

    /// Generates `count` entries.
    public static func generate(count: Int, seed: UInt64 = 42, dimension: Int? = nil, start: Date = defaultStart)
        -> [MemoryEntry]
    {
        var random = SplitMix64(seed: seed)
        var centroids: [String: [Float]] = [:]
        var result: [MemoryEntry] = []
        result.reserveCapacity(count)
        let width = max(6, String(count).count)
        for index in 0..<count {
            var draft = Templates.draw(&random)
            draft.tags = Array(Set(draft.tags)).sorted { draft.tags.firstIndex(of: $0)! < draft.tags.firstIndex(of: $1)! }
            let millis = Double(random.next(below: UInt64(span * 1000)))
            let createdAt = Date(timeIntervalSince1970: (start.timeIntervalSince1970 * 1000).rounded() / 1000 + millis / 1000)
            var embedding: [Float]?
            if let dimension {
                var vector = [Float](repeating: 0, count: dimension)
                for (position, tag) in draft.tags.enumerated() {
                    let centroid = centroids[tag] ?? centroid(for: tag, dimension: dimension)
                    centroids[tag] = centroid
                    let weight: Float = position == 0 ? 0.6 : 0.45
                    for lane in 0..<dimension { vector[lane] += weight * centroid[lane] }
                }
                for lane in 0..<dimension { vector[lane] += 0.25 * random.nextGaussian() / Float(dimension).squareRoot() }
                embedding = vector
            }
            let number = String(index + 1)
            let id = "mem-" + String(repeating: "0", count: max(0, width - number.count)) + number
            result.append(MemoryEntry(id: id, text: draft.text, tags: draft.tags, createdAt: createdAt, embedding: embedding))
        }
        return result
    }

    /// A unit vector derived from the tag's name only (stable across calls and seeds).
    static func centroid(for tag: String, dimension: Int) -> [Float] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in tag.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var random = SplitMix64(seed: hash)
        var vector = (0..<dimension).map { _ in random.nextGaussian() }
        let norm = VectorSlab.norm(vector)
        for lane in 0..<dimension { vector[lane] /= norm }
        return vector
    }
}

/// SplitMix64 (Steele et al.): tiny, fast, good enough for synthetic data, and stable across platforms.
/// The framework's one seeded generator (synthetic memories, randomized tests that must repeat exactly).
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (modulo bias is irrelevant here, and avoiding it would cost determinism nothing).
    mutating func next(below bound: UInt64) -> UInt64 { bound == 0 ? 0 : next() % bound }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(next(below: UInt64(values.count)))] }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next(below: UInt64(range.count)))
    }

    /// Standard normal (Box–Muller).
    mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-12)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
