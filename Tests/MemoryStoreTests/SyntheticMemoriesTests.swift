import Foundation
import Testing

@testable import MemoryStore

@Suite("Synthetic memories and the sample file")
struct SyntheticMemoriesTests {
    static let samplePath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/RouterHost/Resources/sample-memories.json")

    @Test func generationIsDeterministicAndVaried() {
        let first = SyntheticMemories.generate(count: 500, seed: 9, dimension: 12)
        #expect(first == SyntheticMemories.generate(count: 500, seed: 9, dimension: 12))
        #expect(first != SyntheticMemories.generate(count: 500, seed: 10, dimension: 12))
        #expect(first.first?.id == "mem-000001")
        #expect(Set(first.map(\.id)).count == 500)
        #expect(Set(first.map(\.text)).count > 400)
        #expect(Set(first.compactMap(\.tags.first)) == ["preference", "fact", "project", "conversation", "reminder"])
        #expect(first.allSatisfy { $0.embedding?.count == 12 })
        let times = first.map(\.createdAt.timeIntervalSince1970)
        let start = SyntheticMemories.defaultStart.timeIntervalSince1970
        #expect(times.allSatisfy { $0 >= start && $0 < start + SyntheticMemories.span })
        #expect(times.max()! - times.min()! > SyntheticMemories.span * 0.9)
        #expect(SyntheticMemories.generate(count: 3, seed: 1).allSatisfy { $0.embedding == nil })
    }

    @Test func embeddingsClusterByTopic() throws {
        let store = MemoryStore.inMemory(dimension: 32)
        let memories = SyntheticMemories.generate(count: 2000, seed: 5, dimension: 32)
        try store.upsert(memories)
        let query = SyntheticMemories.centroid(for: "travel", dimension: 32)
        let results = try store.search(query: "", limit: 20, embedding: query)
        #expect(results.count == 20)
        #expect(results.filter { $0.entry.tags.contains("travel") }.count >= 18)
    }

    @Test func sampleFileIsValidAndRealistic() throws {
        let data = try Data(contentsOf: Self.samplePath)
        let entries = try JSONDecoder().decode([MemoryEntry].self, from: data)
        #expect((250...400).contains(entries.count))
        #expect(Set(entries.map(\.id)).count == entries.count)
        #expect(Set(entries.map(\.text)).count == entries.count)
        #expect(entries.allSatisfy { $0.embedding == nil && !$0.tags.isEmpty && !$0.text.isEmpty })
        #expect(entries.map(\.createdAt) == entries.map(\.createdAt).sorted())
        let store = MemoryStore.inMemory()
        try store.upsert(entries)
        #expect(try !store.search(query: "coffee").isEmpty)
        #expect(try !store.search(query: "project atlas").isEmpty)
    }

    /// Regenerates the sample file: `MEMORY_SAMPLE_WRITE=1 swift test --filter writeSampleFile`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MEMORY_SAMPLE_WRITE"] != nil))
    func writeSampleFile() throws {
        var seen: Set<String> = []
        var chosen: [MemoryEntry] = []
        for memory in SyntheticMemories.generate(count: 600, seed: 2024) where chosen.count < 300 {
            if seen.insert(memory.text).inserted { chosen.append(memory) }
        }
        chosen.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        for index in chosen.indices { chosen[index].id = String(format: "mem-%04d", index + 1) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (encoder.encode(chosen) + Data("\n".utf8)).write(to: Self.samplePath)
        #expect(chosen.count == 300)
    }
}
