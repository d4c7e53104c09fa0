import Foundation

/// The in-memory search state shared (copy-on-write) by the store and its snapshots: documents by internal
/// number, an inverted index for BM25, a tag index and the vector slab.
///
/// Documents are numbered in insertion order. Deleting or replacing an entry leaves a dead slot: the
/// document frequencies, total length and live count are updated at once (so scores only ever reflect live
/// documents), postings keep the dead number and scoring skips it. ``MemoryStore`` rebuilds the index
/// (renumbering densely, same relative order) when dead slots outnumber live ones, and on compaction.
struct IndexState: Sendable {
    /// One term's postings: ascending doc numbers and their term frequencies (saturated at 65,535).
    struct Postings: Sendable {
        var docs: [UInt32] = []
        var frequencies: [UInt16] = []
    }

    var entries = BlockedArray<MemoryEntry?>()
    var alive: [Bool] = []
    /// Terms in the document after tokenization (stop words removed): BM25's `|D|`.
    var docLength: [Float] = []
    var createdAt: [Double] = []
    /// Each document's ``TextTraits`` (what a result's writer and the highlighter would otherwise scan for).
    var textTraits: [TextTraits] = []
    /// Each document's id, tags and date as JSON text, which every search result writes (``EntryJSONTable``).
    var entryJSON = EntryJSONTable()
    var termIDs: [String: UInt32] = [:]
    var postings: [Postings] = []
    /// Live documents containing each term: BM25's `n(q)`.
    var documentFrequency: [Int32] = []
    /// Tag → ascending doc numbers (dead ones included; filters check `alive`).
    var tagDocs: [String: [UInt32]] = [:]
    var liveCount = 0
    var totalLength: Double = 0
    var vectors: VectorSlab

    init(dimension: Int?) {
        vectors = VectorSlab(dimension: dimension)
    }

    var docCount: Int { alive.count }
    var deadCount: Int { alive.count - liveCount }

    /// Adds a document; `terms` are its tokenized text. Returns its number.
    mutating func add(_ entry: MemoryEntry, terms: [String]) -> Int {
        let doc = alive.count
        var counts: [String: Int] = [:]
        counts.reserveCapacity(terms.count)
        for term in terms { counts[term, default: 0] += 1 }
        for (term, count) in counts {
            let id: Int
            if let existing = termIDs[term] {
                id = Int(existing)
            } else {
                id = postings.count
                termIDs[term] = UInt32(id)
                postings.append(Postings())
                documentFrequency.append(0)
            }
            postings[id].docs.append(UInt32(doc))
            postings[id].frequencies.append(UInt16(min(count, Int(UInt16.max))))
            documentFrequency[id] += 1
        }
        for tag in Set(entry.tags) { tagDocs[tag, default: []].append(UInt32(doc)) }
        entries.append(entry)
        alive.append(true)
        docLength.append(Float(terms.count))
        createdAt.append(entry.createdAt.timeIntervalSince1970)
        textTraits.append(TextTraits(of: entry.text))
        entryJSON.append(entry)
        vectors.append(entry.embedding)
        liveCount += 1
        totalLength += Double(terms.count)
        return doc
    }

    /// Marks a live document dead; `terms` are the same tokens it was added with.
    mutating func remove(_ doc: Int, terms: [String]) {
        guard alive[doc] else { return }
        for term in Set(terms) {
            if let id = termIDs[term] { documentFrequency[Int(id)] -= 1 }
        }
        alive[doc] = false
        entries[doc] = nil
        vectors.remove(doc)
        liveCount -= 1
        totalLength -= Double(docLength[doc])
    }

    /// A dense index of `entries` in the given order.
    static func build(_ entries: [MemoryEntry], dimension: Int?, tokenizer: Tokenizer) -> IndexState {
        var index = IndexState(dimension: dimension)
        for entry in entries { _ = index.add(entry, terms: tokenizer.terms(entry.text)) }
        return index
    }

    /// Live entries in document order.
    var liveEntries: [MemoryEntry] {
        var result: [MemoryEntry] = []
        result.reserveCapacity(liveCount)
        for doc in 0..<docCount where alive[doc] {
            if let entry = entries[doc] { result.append(entry) }
        }
        return result
    }
}
