@testable import CompressionPlugin
import MemoryStore
import Testing

@Suite struct SentenceSplitterTests {
    @Test func splitsOnTerminatorsFollowedBySpaceAndOnLineBreaks() {
        #expect(
            SentenceSplitter.split("Hi Dr. Lee! Is 3.5 ok?\n- yes\r\n\nSee example.com. Done…  ")
                == ["Hi Dr. Lee!", "Is 3.5 ok?", "- yes", "See example.com.", "Done…"])
    }

    @Test func keepsAbbreviationsAndInitialsButSplitsAfterQuotesAndRuns() {
        #expect(SentenceSplitter.split("Use e.g. tea. J. Smith said so.") == ["Use e.g. tea.", "J. Smith said so."])
        #expect(SentenceSplitter.split(#"He said "stop!" Then left?! Ok"#) == [#"He said "stop!""#, "Then left?!", "Ok"])
        #expect(SentenceSplitter.split("今日は晴れ。明日は雨！") == ["今日は晴れ。", "明日は雨！"])
        #expect(SentenceSplitter.split("   \n  ") == [])
    }

    @Test func itsASCIIShortcutsAgreeWithTheUnicodeProperties() {
        for value in UInt8(0)...UInt8(127) {
            let scalar = Unicode.Scalar(value)
            #expect(SentenceSplitter.isWhitespace(scalar) == scalar.properties.isWhitespace, "\(value)")
            #expect(SentenceSplitter.isAlphabetic(scalar) == scalar.properties.isAlphabetic, "\(value)")
        }
        // Past ASCII the tables answer: a no-break space and an ideographic space are spaces, é and 日 letters.
        for scalar in ["\u{A0}", "\u{3000}", "\u{85}"] as [Unicode.Scalar] { #expect(SentenceSplitter.isWhitespace(scalar)) }
        for scalar in ["é", "日", "ß"] as [Unicode.Scalar] { #expect(SentenceSplitter.isAlphabetic(scalar)) }
        #expect(!SentenceSplitter.isAlphabetic("\u{2026}"))
        #expect(SentenceSplitter.split("Dr.\u{A0}Lee came. He left.") == ["Dr.\u{A0}Lee came.", "He left."])
    }
}

@Suite struct TokenEstimatorTests {
    @Test func isTheCeilingOfUTF8BytesOverFourAndAtLeastOne() {
        #expect(TokenEstimator.estimate("abcd") == 1)
        #expect(TokenEstimator.estimate("abcde") == 2)
        #expect(TokenEstimator.estimate("") == 1)
        #expect(TokenEstimator.estimate("ééé") == 2)  // 6 bytes
    }
}

@Suite struct NearDuplicateDetectorTests {
    let detector = NearDuplicateDetector(threshold: 0.8)

    @Test func shinglesAreWordTrigramsOrTheWholeShortSentence() {
        #expect(detector.shingles("One two three four").count == 2)
        #expect(detector.shingles("Hello, world").count == 1)
        #expect(detector.shingles("Hello world!") == detector.shingles("hello WORLD"))
        #expect(detector.shingles("...").isEmpty)
    }

    @Test func marksOnlyPairsAtOrAboveTheThreshold() {
        let texts = [
            "I prefer quiet hotels near the old town.",  // 6 shingles
            "You prefer quiet hotels near the old town.",  // 6, shares 5: 5/7 = 0.714
            "I prefer quiet hotels near the old town too.",  // 7, shares 6 with 0: 6/7 = 0.857
            "...",
        ]
        let matches = detector.detect(
            shingleSets: texts.map(detector.shingles), order: [0, 1, 2, 3], alwaysRepresentative: { _ in false },
            step: { _ in })
        #expect(matches[0] == nil)
        #expect(matches[1] == nil)
        #expect(matches[2] == NearDuplicateDetector.Match(original: 0, similarity: 6.0 / 7.0))
        #expect(matches[3] == nil)
    }

    /// Prefix filtering must find exactly what comparing every pair finds.
    @Test func prefixFilteringAgreesWithBruteForceOnSyntheticMemories() {
        let texts = SyntheticMemories.generate(count: 600, seed: 7).flatMap { SentenceSplitter.split($0.text) }
        let sets = texts.map(detector.shingles)
        let matches = detector.detect(
            shingleSets: sets, order: Array(sets.indices), alwaysRepresentative: { _ in false }, step: { _ in })
        // Brute force over the same visiting order.
        var representatives: [Int] = []
        var expected: [Int?] = []
        var rankOf: [UInt64: Int32] = [:]
        for hash in Set(sets.flatMap { $0 }).sorted() { rankOf[hash] = Int32(rankOf.count) }
        let ranks = sets.map { $0.map { rankOf[$0]! }.sorted() }
        for (position, set) in ranks.enumerated() {
            var best: (Int, Double)?
            if !set.isEmpty {
                for other in representatives {
                    let similarity = NearDuplicateDetector.jaccard(set, ranks[other])
                    if similarity >= 0.8, best == nil || similarity > best!.1 { best = (other, similarity) }
                }
            }
            if let best { expected.append(best.0) } else {
                expected.append(nil)
                if !set.isEmpty { representatives.append(position) }
            }
        }
        #expect(matches.map { $0?.original } == expected)
        #expect(expected.compactMap { $0 }.count > 10, "the corpus must contain duplicates for this test to mean anything")
    }
}

@Suite struct ContextCompressorTests {
    let compressor = ContextCompressor()

    @Test func fitsTheBudgetDropsTheDuplicateAndKeepsTheRecentMessage() {
        let result = compressor.compress(Trip.messages, budgetTokens: 50, keepRecent: 1)
        #expect(result.originalTokens == 9 + 10 + 10 + 9 + 8 + 11 + 10 + 10 + 13)
        // The last message is kept whole (23 tokens), so the older copy of its first sentence is the duplicate.
        #expect(result.droppedReasons["1:1"] == "duplicate_of 3:0")
        #expect(result.dropped.first { $0.ref.description == "1:1" }?.similarity == 1)
        // 2:1 differs in one word (Jaccard 0.75): not a duplicate.
        #expect(result.droppedReasons["2:1"] != "duplicate_of 1:1")
        #expect(result.kept.filter(\.pinned).map(\.ref.description) == ["0:0", "3:0", "3:1"])
        #expect(result.compressedTokens <= 50)
        #expect(result.withinBudget)
        #expect(result.keptRefs.contains("0:0"))
        #expect(result.kept.map(\.ref) == result.kept.map(\.ref).sorted(), "output in original order")
        #expect(result.kept.count + result.dropped.count == 9)
        #expect(result.compressedTokens == result.kept.reduce(0) { $0 + $1.tokens })
        #expect(result.ratio == ((Double(result.compressedTokens) / 90) * 10_000).rounded() / 10_000)
        #expect(result.dropped.allSatisfy { $0.reason.description.hasPrefix("duplicate_of") || $0.reason == .overBudget })
        // Greedy: every over-budget sentence is larger than what was left when it was considered, so none fits now.
        for dropped in result.dropped where dropped.reason == .overBudget {
            #expect(result.compressedTokens + dropped.tokens > 50, "\(dropped.ref) would still fit")
        }
    }

    @Test func handCheckedSelection() {
        // Checked by hand. Pinned: the system prompt 0:0 (9) and the recent message 3:0 + 3:1 (10 + 13) = 32 tokens;
        // 1:1 repeats 3:0 and is dropped. Scores (0.55·centrality + 0.25·recency + 0.20·role) of the rest:
        // 2:1 "You prefer quiet hotels…" has exactly 3:0's terms, so centrality 1: 0.55 + 0.25·2/3 + 0.12 ≈ 0.84 → 43.
        // 2:0 (Lisbon, May; recency 2/3, assistant) outscores 1:0 (same terms, recency 1/3, user) → 8 → 51.
        // 1:0 and 2:2 (10 each) no longer fit the 9 left; 1:2 (9, lowest score) still does → 60.
        let result = compressor.compress(Trip.messages, budgetTokens: 60, keepRecent: 1)
        #expect(result.keptRefs == ["0:0", "1:2", "2:0", "2:1", "3:0", "3:1"])
        #expect(result.compressedTokens == 60)
        #expect(
            result.compressed == """
                system: You are a concise travel assistant.
                user: My budget is 150 euros per night.
                assistant: Lisbon in May is warm and sunny. You prefer quiet hotels near the old town.
                user: I prefer quiet hotels near the old town! Please book the Alfama guesthouse for three nights.
                """)
        #expect(result.droppedReasons == ["1:0": "over_budget", "1:1": "duplicate_of 3:0", "2:2": "over_budget"])
        let score = Dictionary(uniqueKeysWithValues: (result.kept.map { ($0.ref.description, $0.score) }
            + result.dropped.compactMap { dropped in dropped.score.map { (dropped.ref.description, $0) } }))
        #expect(score["2:1"]! > score["2:0"]! && score["2:0"]! > score["1:0"]! && score["1:0"]! > score["1:2"]!)
        #expect(abs(score["2:1"]! - (0.55 + 0.25 * 2 / 3 + 0.2 * 0.6)) < 1e-6)
        #expect(result.kept.filter(\.pinned).map(\.ref.description) == ["0:0", "3:0", "3:1"])
    }

    @Test func systemMessagesCanBeUnpinned() {
        let result = compressor.compress(Trip.messages, budgetTokens: 20, keepRecent: 0, keepSystem: false)
        #expect(!result.keptRefs.contains("0:0"))
        #expect(result.compressedTokens <= 20)
    }

    @Test func withoutKeepRecentTheFirstOccurrenceIsTheOriginal() {
        let result = compressor.compress(Trip.messages, budgetTokens: 1000)
        #expect(result.droppedReasons == ["3:0": "duplicate_of 1:1"])
        #expect(result.kept.count == 8)
        #expect(result.compressedTokens == 80)
        #expect(result.ratio == 0.8889)
    }

    @Test func isDeterministic() {
        let first = compressor.compress(Trip.messages, budgetTokens: 30, keepRecent: 0)
        let second = compressor.compress(Trip.messages, budgetTokens: 30, keepRecent: 0)
        #expect(first == second)
        #expect(first.compressedTokens <= 30)
    }

    @Test func recentMessagesOverTheBudgetAreStillKeptWhole() {
        let result = compressor.compress(Trip.messages, budgetTokens: 10, keepRecent: 2)
        #expect(!result.withinBudget)
        #expect(result.kept.map(\.ref.description) == ["0:0", "2:0", "2:1", "2:2", "3:0", "3:1"])
        #expect(result.compressedTokens == 61)
    }

    @Test func scoresFavourTheSystemPromptAndRecency() {
        let result = compressor.compress(Trip.messages, budgetTokens: 1000)
        let score = Dictionary(uniqueKeysWithValues: result.kept.map { ($0.ref.description, $0.score) })
        // The system prompt shares no term with the rest (centrality 0) and is the oldest: only its role weight.
        #expect(score["0:0"]! == 0.2)
        // Same role, later message: the recency term adds 0.25 · 2/3.
        #expect(score["3:1"]! > score["1:0"]!)
        #expect(result.kept.allSatisfy { $0.score >= 0 && $0.score <= 1 })
    }

    @Test func stopsWhenItsTaskIsCancelled() async {
        let messages = (0..<2000).map { ContextMessage(role: "user", content: "Message \($0) talks about topic \($0 % 17). It is long enough.") }
        let task = Task { () throws -> CompressionResult in
            try ContextCompressor().compress(messages, budgetTokens: 100) { _, _ in try Task.checkCancellation() }
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
