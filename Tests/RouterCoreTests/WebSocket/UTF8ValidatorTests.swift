import MemoryStore
import RouterCore
import Testing

@Suite("UTF8Validator")
struct UTF8ValidatorTests {
    /// Feeds `bytes` one at a time and returns the index of the first byte refused, or nil.
    func firstRefusedByteFeedingOneAtATime(_ bytes: [UInt8]) -> Int? {
        var validator = UTF8Validator()
        for (index, byte) in bytes.enumerated() where !validator.feed([byte]) {
            return index
        }
        return nil
    }

    @Test func validTextIsAcceptedAtEverySplit() {
        let text = "aé€𝄞 Ωmega ✓ 日本語 🎉"
        let bytes = Array(text.utf8)
        var boundaries: Set<Int> = [0]
        var offset = 0
        for scalar in text.unicodeScalars {
            offset += UTF8.width(scalar)
            boundaries.insert(offset)
        }
        for split in 0...bytes.count {
            var validator = UTF8Validator()
            let prefixAccepted = validator.feed(Array(bytes[..<split]))
            #expect(prefixAccepted, "prefix up to \(split)")
            #expect(validator.isAtCharacterBoundary == boundaries.contains(split), "boundary at \(split)")
            let suffixAccepted = validator.feed(Array(bytes[split...]))
            #expect(suffixAccepted, "suffix from \(split)")
            #expect(validator.isAtCharacterBoundary, "whole text, split at \(split)")
            #expect(validator.failureOffset == nil)
        }
    }

    @Test(arguments: [
        ("overlong c0 af", [UInt8(0xc0), 0xaf], 0),
        ("surrogate ed a0 80", [0xed, 0xa0, 0x80], 1),
        ("over U+10FFFF f4 90 80 80", [0xf4, 0x90, 0x80, 0x80], 1),
        ("lone continuation 80", [0x80], 0),
        ("overlong e0 80 af", [0xe0, 0x80, 0xaf], 1),
        ("overlong f0 8f bf bf", [0xf0, 0x8f, 0xbf, 0xbf], 1),
        ("f5 lead", [0xf5, 0x80, 0x80, 0x80], 0),
        ("ff", [0xff], 0),
        ("lead then ASCII", [0x61, 0x62, 0xc3, 0x28], 3),
        ("3-byte cut by ASCII", [0xe2, 0x82, 0x41], 2),
    ])
    func invalidClassicsFailAtTheExactByte(name: String, bytes: [UInt8], failingIndex: Int) {
        #expect(firstRefusedByteFeedingOneAtATime(bytes) == failingIndex, "\(name), byte by byte")
        var whole = UTF8Validator()
        let wholeAccepted = whole.feed(bytes)
        #expect(!wholeAccepted, "\(name), whole")
        #expect(whole.failureOffset == failingIndex, "\(name), whole")
        // Behind 19 ASCII bytes the ASCII fast path runs first; the offset counts them.
        var behindASCII = UTF8Validator()
        let asciiAccepted = behindASCII.feed(Array("nineteen ascii byte".utf8))
        let restAccepted = behindASCII.feed(bytes)
        #expect(asciiAccepted && !restAccepted, "\(name) behind ASCII")
        #expect(behindASCII.failureOffset == 19 + failingIndex, "\(name) behind ASCII")
    }

    @Test func truncatedSequenceIsValidSoFarButNotAtABoundary() {
        var validator = UTF8Validator()
        let firstAccepted = validator.feed([0xf0, 0x9f, 0x8e])
        #expect(firstAccepted)
        #expect(!validator.isAtCharacterBoundary)
        let lastAccepted = validator.feed([0x89])
        #expect(lastAccepted)
        #expect(validator.isAtCharacterBoundary)
    }

    @Test func failsFastInTheFirstFeedAndStaysFailedUntilReset() {
        var validator = UTF8Validator()
        // The first fragment already holds the invalid byte: refused there, before any later fragment.
        let firstFragmentAccepted = validator.feed(Array("κόσμε".utf8) + [0xed, 0xa0, 0x80] + Array("more".utf8))
        #expect(!firstFragmentAccepted)
        #expect(validator.failureOffset == 11)  // "κόσμε" is 10 bytes; ED (byte 10) may start a sequence, A0 (byte 11) may not.
        let laterAccepted = validator.feed(Array("valid".utf8))
        #expect(!laterAccepted)
        #expect(!validator.isAtCharacterBoundary)
        validator.reset()
        let afterResetAccepted = validator.feed(Array("valid".utf8))
        #expect(afterResetAccepted)
        #expect(validator.failureOffset == nil)
    }

    @Test func agreesWithTheStandardLibraryOnAllTwoByteInputs() {
        for first in 0...255 {
            for second in 0...255 {
                let bytes = [UInt8(first), UInt8(second)]
                var validator = UTF8Validator()
                let ours = validator.feed(bytes) && validator.isAtCharacterBoundary
                let stdlib = String(validating: bytes, as: UTF8.self) != nil
                if ours != stdlib { Issue.record("disagree on \(bytes)") }
            }
        }
    }

    @Test func agreesWithTheStandardLibraryOnRandomInputsFedInPieces() {
        var rng = SplitMix64(seed: 2024)
        let alphabet: [UInt8] = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf3, 0xf4, 0xf5, 0xff]
        var agreements = 0
        for _ in 0..<5000 {
            let length = Int.random(in: 1...12, using: &rng)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
            let split = Int.random(in: 0...length, using: &rng)
            var validator = UTF8Validator()
            let ours = validator.feed(Array(bytes[..<split])) && validator.feed(Array(bytes[split...])) && validator.isAtCharacterBoundary
            let stdlib = String(validating: bytes, as: UTF8.self) != nil
            if ours == stdlib { agreements += 1 } else { Issue.record("disagree on \(bytes) split at \(split)") }
        }
        #expect(agreements == 5000)
    }

    /// Long ASCII runs go through the 64-, 32- and 8-byte fast paths: a stray byte anywhere in them, at any
    /// alignment, must be found at the same offset as byte-by-byte feeding finds it.
    @Test func theFastPathsFindEveryNonASCIIByteAtItsOffset() {
        var rng = SplitMix64(seed: 77)
        let inserts: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0x80], [0xFF], [0xC3], [0xED, 0xA0, 0x80]]
        for _ in 0..<3000 {
            var bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                bytes.insert(contentsOf: inserts.randomElement(using: &rng)!, at: Int.random(in: 0...bytes.count, using: &rng))
            }
            var whole = UTF8Validator()
            let wholeValid = whole.feed(bytes) && whole.isAtCharacterBoundary
            var single = UTF8Validator()
            var singleValid = true
            for byte in bytes where singleValid { singleValid = single.feed([byte]) }
            singleValid = singleValid && single.isAtCharacterBoundary
            #expect(wholeValid == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
            #expect(wholeValid == singleValid)
            #expect(whole.failureOffset == single.failureOffset, "\(bytes)")
        }
    }
}
