import Foundation
import Testing

@testable import MemoryStore

@Suite("Memory store")
struct MemoryStoreTests {
    @Test func upsertReplacesByIdAndDeleteRemoves() throws {
        let store = MemoryStore.inMemory()
        try store.upsert([entry("a", "user likes green tea"), entry("b", "project atlas ships in march")])
        try store.upsert(entry("a", "user switched to black coffee"))
        #expect(store.count == 2)
        #expect(store.get(id: "a")?.text == "user switched to black coffee")
        // The replaced text no longer matches; the new one does.
        #expect(try store.search(query: "green tea").isEmpty)
        #expect(try store.search(query: "coffee").map(\.entry.id) == ["a"])

        #expect(try store.delete(ids: ["a", "missing", "a"]) == 1)
        #expect(store.get(id: "a") == nil)
        #expect(store.count == 1)
        #expect(try store.search(query: "coffee").isEmpty)
        #expect(try store.delete(ids: ["a"]) == 0)

        // Within one batch the last occurrence of an id wins.
        try store.upsert([entry("c", "first version"), entry("c", "second version")])
        #expect(store.get(id: "c")?.text == "second version")
        #expect(store.count == 2)
    }

    @Test func deleteAndReplaceSurviveReopen() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let (store, _) = try MemoryStore.open(directory: directory)
                try store.upsert([entry("a", "one"), entry("b", "two"), entry("c", "three")])
                try store.upsert(entry("b", "two, edited", tags: ["edited"]))
                try store.delete(ids: ["c"])
                try store.close()
            }
            let (store, report) = try MemoryStore.open(directory: directory)
            #expect(report.recordsLoaded == 5)
            #expect(report.entriesLoaded == 2)
            #expect(store.get(id: "b") == entry("b", "two, edited", tags: ["edited"]))
            #expect(store.get(id: "c") == nil)
            #expect(store.allEntries().map(\.id) == ["a", "b"])
        }
    }

    @Test func dimensionMismatchIsRejectedAndNothingIsWritten() async throws {
        try await withTemporaryDirectory { directory in
            let (store, _) = try MemoryStore.open(directory: directory, dimension: 4)
            try store.upsert(entry("ok", "fine", embedding: [1, 2, 3, 4]))
            let size = store.logSize
            #expect {
                try store.upsert([entry("good", "would be fine"), entry("bad", "wrong size", embedding: [1, 2, 3])])
            } throws: { error in
                let error = error as? MemoryStoreError
                return error?.code == .dimensionMismatch
                    && error?.message == "entries[1] (id \"bad\"): embedding has 3 values, the store's dimension is 4"
            }
            #expect(store.count == 1)
            #expect(store.get(id: "good") == nil)
            #expect(store.logSize == size)
            #expect(throws: MemoryStoreError.self) { try store.search(query: "", embedding: [1, 0]) }
            try store.close()

            // The log's embeddings contradict another dimension: refuse to open rather than drop entries.
            #expect {
                _ = try MemoryStore.open(directory: directory, dimension: 8)
            } throws: { ($0 as? MemoryStoreError)?.code == .dimensionMismatch }
            // Unspecified: the log fixes it.
            let (reopened, _) = try MemoryStore.open(directory: directory)
            #expect(reopened.dimension == 4)
        }
    }

    @Test func firstEmbeddingFixesAnUnspecifiedDimension() throws {
        let store = MemoryStore.inMemory()
        #expect(store.dimension == nil)
        try store.upsert(entry("a", "x", embedding: [0, 1]))
        #expect(store.dimension == 2)
        #expect { try store.upsert(entry("b", "y", embedding: [0, 1, 2])) } throws: {
            ($0 as? MemoryStoreError)?.code == .dimensionMismatch
        }
    }

    @Test(arguments: [
        (entry("", "empty id"), "entries[0]: id is empty"),
        (entry(String(repeating: "x", count: 1025), "long id"), "id is longer than 1024 bytes"),
        (entry("t", "empty tag", tags: ["ok", ""]), "tags[1] is empty"),
        (entry("n", "nan", embedding: [1, .nan]), "embedding contains NaN or infinity"),
        (entry("z", "zero", embedding: [0, 0]), "embedding is all zeros"),
    ])
    func invalidEntriesAreRejected(invalid: MemoryEntry, message: String) {
        let store = MemoryStore.inMemory(dimension: 2)
        #expect {
            try store.upsert(invalid)
        } throws: { error in
            guard let error = error as? MemoryStoreError else { return false }
            return error.code == .invalidEntry && error.message.contains(message)
        }
        #expect(store.count == 0)
    }

    @Test func snapshotsAreIsolatedFromLaterWrites() throws {
        let store = MemoryStore.inMemory()
        try store.upsert([entry("a", "alpha coffee"), entry("b", "beta coffee")])
        let snapshot = store.searchSnapshot()
        #expect(store.searchSnapshot().version == snapshot.version)  // cached until a write
        try store.upsert(entry("c", "gamma coffee"))
        try store.delete(ids: ["a"])
        try store.upsert(entry("b", "beta tea"))
        #expect(snapshot.liveCount == 2)
        #expect(try snapshot.search(query: "coffee").map(\.entry.id).sorted() == ["a", "b"])
        #expect(snapshot.entries().map(\.text) == ["alpha coffee", "beta coffee"])
        let now = store.searchSnapshot()
        #expect(now.version > snapshot.version)
        #expect(try now.search(query: "coffee").map(\.entry.id) == ["c"])
    }

    /// A result's `createdAt` comes from the index's text of it: the formatted date, for years 0…9999 and (formatted
    /// on the spot) past them; nothing for a deleted document.
    @Test func theIndexKeepsEachEntrysCreatedAtAsItsFormattedText() throws {
        let store = MemoryStore.inMemory()
        let seconds: [Double] = [0, 1_700_000_000.123, 1_709_164_800.999_6, -1, -62_135_596_800, 253_402_300_799.999, 253_402_300_800]
        try store.upsert(seconds.enumerated().map { entry("e\($0.offset)", "note", at: $0.element) })
        try store.delete(ids: ["e0"])
        let snapshot = store.searchSnapshot()
        var written: [String: String] = [:]
        for doc in 0..<snapshot.documentCount {
            guard let id = snapshot.entry(at: doc)?.id else {
                #expect(!snapshot.withFormattedCreatedAt(at: doc) { _ in Issue.record("a deleted entry's date") })
                continue
            }
            #expect(snapshot.withFormattedCreatedAt(at: doc) { written[id] = String(decoding: $0, as: UTF8.self) })
        }
        for (offset, second) in seconds.enumerated().dropFirst() {
            #expect(written["e\(offset)"] == ISO8601Millis.format(Date(timeIntervalSince1970: second)), "\(second)")
        }
        #expect(written["e6"] == "10000-01-01T00:00:00.000Z")
        #expect(written["e0"] == nil)
        #expect(!snapshot.withFormattedCreatedAt(at: snapshot.documentCount) { _ in })
    }

    /// The index keeps each entry's ``TextTraits``, which a search result writes its text by: ASCII or not,
    /// nothing JSON must escape or something (a quote, a backslash, a control character), an apostrophe.
    @Test func theIndexKeepsEachEntrysTextTraits() throws {
        let expected: [(String, TextTraits)] = [
            ("plain words", [.ascii, .jsonPlain, .singleSpaced]), ("user's notes", [.ascii, .jsonPlain, .apostrophe, .singleSpaced]),
            ("a \"quote\"", [.ascii, .singleSpaced]), ("back\\slash", [.ascii, .singleSpaced]), ("tab\there", [.ascii]),
            ("line\r\nbreak", [.ascii]), ("\u{1F}", [.ascii, .singleSpaced]), ("Zürich", [.jsonPlain]),
            ("emoji 😀 it's", [.jsonPlain, .apostrophe]), ("東京 \"x\"", []), ("", [.ascii, .jsonPlain, .singleSpaced]),
            (" leading", [.ascii, .jsonPlain]), ("trailing ", [.ascii, .jsonPlain]), ("two  spaces", [.ascii, .jsonPlain]),
            ("form\u{0C}feed", [.ascii]),
        ]
        let store = MemoryStore.inMemory()
        try store.upsert(expected.enumerated().map { entry("e\($0.offset)", $0.element.0, at: 0) })
        let snapshot = store.searchSnapshot()
        for doc in 0..<snapshot.documentCount {
            let text = try #require(snapshot.entry(at: doc)).text
            let traits = try #require(expected.first { $0.0 == text }).1
            #expect(snapshot.textTraits(at: doc) == traits, "\(text.debugDescription)")
            #expect(TextTraits(of: text) == traits)
        }
        #expect(snapshot.textTraits(at: snapshot.documentCount) == [])
    }

    /// An entry's id, tags and date are kept as JSON text when none needs an escape: exactly what a JSON
    /// writer gives for them (read back here), and none for an entry that needs one or has a 5-digit year.
    @Test func theIndexKeepsEachEntrysIDTagsAndDateAsJSON() throws {
        let plain = [
            entry("m1", "a \"text\" that needs escaping", tags: ["a", "東京", "it's"], at: 1_700_000_000.123),
            entry("m2", "no tags", at: 0), entry("Zürich-😀", "x", tags: ["ü"], at: -1),
        ]
        let refused = [
            entry("q\"1", "x"), entry("b\\1", "x"), entry("t1", "x", tags: ["ok", "tab\t"]), entry("t2", "x", tags: ["\u{1}"]),
            entry("y1", "x", at: 253_402_300_800),  // 10000-01-01
        ]
        let store = MemoryStore.inMemory()
        try store.upsert(plain + refused)
        let snapshot = store.searchSnapshot()
        for doc in 0..<snapshot.documentCount {
            let entry = try #require(snapshot.entry(at: doc))
            var members: String?
            let found = snapshot.withEntryJSON(at: doc) { id, tags, createdAt, text in
                func string(_ json: UnsafeBufferPointer<UInt8>) -> String { String(decoding: json, as: UTF8.self) }
                members = #""id":\#(string(id)),"tags":\#(string(tags)),"createdAt":\#(string(createdAt))"#
                #expect(text == entry.text)
            }
            guard plain.contains(entry) else {
                #expect(!found && members == nil, "\(entry.id.debugDescription) needs escaping or has a 5-digit year")
                continue
            }
            let json = try #require(members)
            let object = try #require(try JSONSerialization.jsonObject(with: Data("{\(json)}".utf8)) as? [String: Any])
            #expect(object["id"] as? String == entry.id)
            #expect(object["tags"] as? [String] == entry.tags)
            #expect(object["createdAt"] as? String == ISO8601Millis.format(entry.createdAt))
            #expect(object.count == 3)
        }
        // A replaced entry's old document has none; out of range, none.
        try store.upsert([entry("m2", "replaced", tags: ["new"])])
        let after = store.searchSnapshot()
        #expect(!snapshot.withEntryJSON(at: snapshot.documentCount) { _, _, _, _ in })
        let replacedOld = (0..<after.documentCount).filter { after.entry(at: $0) == nil }
        #expect(!replacedOld.isEmpty)
        for doc in replacedOld { #expect(!after.withEntryJSON(at: doc) { _, _, _, _ in }) }
        var replacement: (json: String, text: String)?
        for doc in 0..<after.documentCount {
            after.withEntryJSON(at: doc) { _, tags, _, text in
                if text == "replaced" { replacement = (String(decoding: tags, as: UTF8.self), text) }
            }
        }
        #expect(replacement?.json == #"["new"]"#)
        // Across a block of 4,096 documents, with one that has none at its start.
        let many = MemoryStore.inMemory()
        try many.upsert((0..<4_100).map { entry($0 == 4_096 ? "q\"\($0)" : "e\($0)", "x", tags: ["t\($0 % 7)"]) })
        let big = many.searchSnapshot()
        for doc in [0, 4_095, 4_096, 4_097, 4_099] {
            let entry = try #require(big.entry(at: doc))
            var ids: [String] = []
            let found = big.withEntryJSON(at: doc) { id, tags, _, _ in
                ids = [String(decoding: id, as: UTF8.self), String(decoding: tags, as: UTF8.self)]
            }
            #expect(found == (doc != 4_096))
            if found { #expect(ids == ["\"\(entry.id)\"", "[\"\(entry.tags[0])\"]"]) }
        }
    }

    @Test func allEntriesOrderIsCreatedAtThenId() throws {
        let store = MemoryStore.inMemory()
        try store.upsert([entry("b", "x", at: 20), entry("c", "x", at: 10), entry("a", "x", at: 20), entry("d", "x", at: 5)])
        #expect(store.allEntries().map(\.id) == ["d", "c", "a", "b"])
        let snapshot = store.searchSnapshot()
        #expect(snapshot.orderedDocuments().compactMap { snapshot.entry(at: $0)?.id } == ["d", "c", "a", "b"])
    }

    @Test func indexIsRebuiltAfterManyReplacementsWithoutChangingResults() throws {
        let store = MemoryStore.inMemory()
        let items = (0..<100).map { entry("e\($0)", "note \($0) about coffee", at: Double($0)) }
        for _ in 0..<60 { try store.upsert(items) }  // 6,000 dead slots > max(4096, 100) triggers a rebuild
        let snapshot = store.searchSnapshot()
        #expect(snapshot.documentCount < 6000)
        #expect(store.count == 100)
        #expect(try store.search(query: "coffee", limit: 200).count == 100)
        #expect(store.allEntries() == items)
    }

    @Test func concurrentWritersAndReadersReachAConsistentState() async throws {
        try await withTemporaryDirectory { directory in
            let (store, _) = try MemoryStore.open(directory: directory, dimension: 4, fsync: .never)
            let writers = 4
            let perWriter = 120
            func item(_ writer: Int, _ index: Int, _ version: Int) -> MemoryEntry {
                entry(
                    "w\(writer)-\(index)", "writer \(writer) item \(index) version \(version) coffee",
                    tags: ["w\(writer)"], at: Double(writer * 1000 + index),
                    embedding: [Float(writer + 1), Float(index % 7 + 1), Float(version), 1])
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for start in stride(from: 0, to: perWriter, by: 6) {
                            try store.upsert((start..<start + 6).map { item(writer, $0, 1) })
                        }
                        for index in stride(from: 0, to: perWriter, by: 2) { try store.upsert(item(writer, index, 2)) }
                        try store.delete(ids: stride(from: 0, to: perWriter, by: 4).map { "w\(writer)-\($0)" })
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<150 {
                            let snapshot = store.searchSnapshot()
                            // A snapshot is internally consistent whatever the writers are doing.
                            let entries = snapshot.entries()
                            guard entries.count == snapshot.liveCount, Set(entries.map(\.id)).count == entries.count else {
                                throw MemoryStoreError(.failed, "inconsistent snapshot")
                            }
                            let vector: [Float]? = snapshot.dimension == nil ? nil : [1, 1, 1, 1]
                            let hits = try snapshot.search(query: "coffee", limit: 1000, embedding: vector)
                            guard hits.count == snapshot.liveCount else { throw MemoryStoreError(.failed, "search missed entries") }
                            _ = store.get(id: "w0-1")
                            await Task.yield()
                        }
                    }
                }
                try await group.waitForAll()
            }
            var expected: [MemoryEntry] = []
            for writer in 0..<writers {
                for index in 0..<perWriter where index % 4 != 0 {
                    expected.append(item(writer, index, index % 2 == 0 ? 2 : 1))
                }
            }
            expected.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            #expect(store.count == expected.count)
            #expect(store.allEntries() == expected)
            #expect(try store.search(query: "coffee", limit: 1000, tags: ["w2"]).count == expected.count / writers)
            try store.close()
            let (reopened, report) = try MemoryStore.open(directory: directory, dimension: 4)
            #expect(report.isClean)
            #expect(reopened.allEntries() == expected)
        }
    }

    @Test func jsonUsesISO8601AndRoundTrips() throws {
        let original = MemoryEntry(
            id: "mem-1", text: "User prefers dark roast coffee", tags: ["preference"],
            createdAt: date(1_700_000_000.123), embedding: [0.5, -1])
        let data = try JSONEncoder().encode(original)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["createdAt"] as? String == "2023-11-14T22:13:20.123Z")
        #expect(try JSONDecoder().decode(MemoryEntry.self, from: data) == original)

        let minimal = #"{"id": "x", "text": "t", "createdAt": "2024-03-01T10:00:00+01:00"}"#
        let decoded = try JSONDecoder().decode(MemoryEntry.self, from: Data(minimal.utf8))
        #expect(decoded == MemoryEntry(id: "x", text: "t", tags: [], createdAt: date(1_709_283_600)))
        #expect(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(decoded)) as? [String: Any] != nil)
        #expect(String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self).contains("embedding") == false)

        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(MemoryEntry.self, from: Data(#"{"id": "x", "text": "t", "createdAt": "March 1st"}"#.utf8))
        }
    }
}
