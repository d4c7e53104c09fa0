import Foundation
import MemoryStore
import RouterCore
import RouterTesting
import Synchronization
@testable import SearchPlugin

/// A hand-checked corpus of eight memories with 4-dimensional embeddings
/// (lanes: coffee, tea, work, travel; m8 has none).
enum Corpus {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    static let entries: [MemoryEntry] = [
        MemoryEntry(
            id: "m1", text: "I prefer dark roast coffee, brewed strong in a French press every morning.",
            tags: ["preference", "coffee"], createdAt: date("2024-01-10T08:00:00Z"), embedding: [0.9, 0.1, 0, 0]),
        MemoryEntry(
            id: "m2", text: "Favourite tea is jasmine green tea, usually in the afternoon.",
            tags: ["preference", "tea"], createdAt: date("2024-02-01T15:30:00Z"), embedding: [0.1, 0.9, 0, 0]),
        MemoryEntry(
            id: "m3", text: "Project Atlas: migrate the coffee shop inventory service to Swift on the server.",
            tags: ["project", "atlas", "work"], createdAt: date("2024-03-05T10:00:00Z"), embedding: [0.3, 0, 0.9, 0]),
        MemoryEntry(
            id: "m4", text: "Meeting notes: the roast schedule for the team offsite needs a vegetarian option.",
            tags: ["work", "meeting"], createdAt: date("2024-03-20T14:00:00Z"), embedding: [0.1, 0, 0.8, 0.2]),
        MemoryEntry(
            id: "m5", text: "Allergic to peanuts; avoids dark chocolate with nuts.",
            tags: ["health", "fact"], createdAt: date("2023-11-15T09:00:00Z"), embedding: [0.2, 0.2, 0, 0.2]),
        MemoryEntry(
            id: "m6", text: "Reminder: renew the passport before the trip to Lisbon in June.",
            tags: ["reminder", "travel"], createdAt: date("2024-04-02T07:45:00Z"), embedding: [0, 0, 0.1, 0.9]),
        MemoryEntry(
            id: "m7", text: "Asked for a light roast recommendation for a friend who finds coffee too bitter.",
            tags: ["conversation", "coffee"], createdAt: date("2024-05-11T19:20:00Z"), embedding: [0.8, 0.2, 0, 0.1]),
        MemoryEntry(
            id: "m8", text: "Prefers dark mode in every editor and terminal.",
            tags: ["preference", "tools"], createdAt: date("2024-05-20T11:00:00.250Z")),
    ]

    static func store() throws -> MemoryStore {
        let store = MemoryStore.inMemory(dimension: 4)
        try store.upsert(entries)
        return store
    }
}

func services(_ store: MemoryStore) -> ServiceRegistry {
    var services = ServiceRegistry()
    services.register(store)
    return services
}

/// The complete event's fields, or nil.
func completion(_ events: [RecordedEvent]) -> JSONValue? {
    guard case .complete(let json)? = events.last else { return nil }
    return json
}

/// The `id`s of a search's results, in order.
func resultIDs(_ events: [RecordedEvent]) -> [String] {
    guard case .array(let results)? = completion(events)?["results"] else { return [] }
    return results.compactMap { result in
        if case .string(let id)? = result["id"] { return id }
        return nil
    }
}

/// The `score`s of a search's results, in order.
func resultScores(_ events: [RecordedEvent]) -> [Double] {
    guard case .array(let results)? = completion(events)?["results"] else { return [] }
    return results.compactMap { result in
        if case .number(let score)? = result["score"] { return score }
        return nil
    }
}

func total(_ events: [RecordedEvent]) -> Int? {
    guard case .number(let total)? = completion(events)?["total"] else { return nil }
    return Int(total)
}

/// Overall progress values of the progress events, in order.
func progressValues(_ events: [RecordedEvent]) -> [Double] {
    events.compactMap { event in
        if case .progress(_, _, let progress, _) = event { return progress }
        return nil
    }
}

/// Counts calls from concurrent tasks.
final class Counter: Sendable {
    private let value = Mutex(0)
    func set(_ new: Int) { value.withLock { $0 = new } }
    var current: Int { value.withLock { $0 } }
}
