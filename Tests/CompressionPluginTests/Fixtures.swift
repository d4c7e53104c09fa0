@testable import CompressionPlugin
import RouterCore

/// A small trip-planning conversation, checked by hand in ``CompressionAlgorithmTests``.
///
/// Sentences (message:sentence, estimated tokens = ceil(bytes / 4)):
/// - 0:0 system "You are a concise travel assistant." (35 B → 9)
/// - 1:0 user "I am planning a trip to Lisbon in May." (38 B → 10)
/// - 1:1 user "I prefer quiet hotels near the old town." (40 B → 10)
/// - 1:2 user "My budget is 150 euros per night." (33 B → 9)
/// - 2:0 assistant "Lisbon in May is warm and sunny." (32 B → 8)
/// - 2:1 assistant "You prefer quiet hotels near the old town." (42 B → 11): Jaccard 6/8 = 0.75 with 1:1, kept apart
/// - 2:2 assistant "Alfama has several small guesthouses." (37 B → 10)
/// - 3:0 user "I prefer quiet hotels near the old town!" (40 B → 10): identical words to 1:1, a duplicate
/// - 3:1 user "Please book the Alfama guesthouse for three nights." (51 B → 13)
enum Trip {
    static let messages = [
        ContextMessage(role: "system", content: "You are a concise travel assistant."),
        ContextMessage(
            role: "user",
            content: "I am planning a trip to Lisbon in May. I prefer quiet hotels near the old town. My budget is 150 euros per night."),
        ContextMessage(
            role: "assistant",
            content: "Lisbon in May is warm and sunny. You prefer quiet hotels near the old town. Alfama has several small guesthouses."),
        ContextMessage(
            role: "user", content: "I prefer quiet hotels near the old town! Please book the Alfama guesthouse for three nights."),
    ]

    static var json: String {
        #"""
        {"messages": [
          {"role": "system", "content": "You are a concise travel assistant."},
          {"role": "user", "content": "I am planning a trip to Lisbon in May. I prefer quiet hotels near the old town. My budget is 150 euros per night."},
          {"role": "assistant", "content": "Lisbon in May is warm and sunny. You prefer quiet hotels near the old town. Alfama has several small guesthouses."},
          {"role": "user", "content": "I prefer quiet hotels near the old town! Please book the Alfama guesthouse for three nights."}
        ], "budgetTokens": 50, "keepRecent": 1}
        """#
    }
}

extension CompressionResult {
    var keptRefs: [String] { kept.map(\.ref.description) }
    var droppedReasons: [String: String] {
        Dictionary(uniqueKeysWithValues: dropped.map { ($0.ref.description, $0.reason.description) })
    }
}
