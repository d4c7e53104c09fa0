import Foundation
import MemoryStore
import RouterCore
import RouterTesting
import StreamingPlugin
import Synchronization

/// 2024-01-15T10:00:00Z plus `days` days.
func day(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_705_312_800 + days * 86_400) }

/// Five hand-made memories across January, February and April 2024 (March is empty).
func smallStore() throws -> MemoryStore {
    let store = MemoryStore.inMemory()
    try store.upsert([
        MemoryEntry(id: "b", text: "Prefers green tea.", tags: ["preference", "food"], createdAt: day(0)),
        MemoryEntry(id: "a", text: "Lives in Lyon.", tags: ["fact"], createdAt: day(0)),
        MemoryEntry(id: "c", text: "Atlas ships in June.", tags: ["project", "work"], createdAt: day(20)),
        MemoryEntry(id: "d", text: "Dislikes coffee.", tags: ["preference", "food"], createdAt: day(80)),
        MemoryEntry(id: "e", text: "Atlas demo moved.", tags: ["project", "work"], createdAt: day(85.5)),
    ])
    return store
}

func services(_ store: MemoryStore) -> ServiceRegistry {
    var registry = ServiceRegistry()
    registry.register(store)
    return registry
}

extension [RecordedEvent] {
    var chunks: [(index: Int, json: JSONValue)] {
        compactMap { event in
            if case .chunk(let index, let json) = event { return (index, json) }
            return nil
        }
    }

    var progressValues: [Double] {
        compactMap { event in
            if case .progress(_, _, let value, _) = event { return value }
            return nil
        }
    }
}

extension JSONValue {
    var int: Int? { if case .number(let value) = self { Int(exactly: value) } else { nil } }
    var string: String? { if case .string(let value) = self { value } else { nil } }
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
}

