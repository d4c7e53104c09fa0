import Foundation
import Testing
@testable import RouterCore

@Suite("Base64")
struct Base64Tests {
    @Test func rfc4648Vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test func everyLengthUpTo64MatchesFoundationAndRoundTrips() {
        for length in 0...64 {
            let bytes = HTTPTestSupport.bytes(count: length, seed: UInt64(length) &* 7919)
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString(), "length \(length)")
            #expect(Base64.decode(encoded) == bytes, "length \(length)")
            #expect(Data(base64Encoded: encoded).map { Array($0) } == bytes, "length \(length)")
        }
    }

    @Test func allByteValuesAndAlphabetCharacters() {
        let bytes = (0...255).map { UInt8($0) }
        let encoded = Base64.encode(bytes)
        #expect(encoded == Data(bytes).base64EncodedString())
        #expect(encoded.contains("+") && encoded.contains("/"))
        #expect(Base64.decode(encoded) == bytes)
    }

    @Test func sampleNonceDecodesToSixteenBytes() {
        #expect(Base64.decode("dGhlIHNhbXBsZSBub25jZQ==") == Array("the sample nonce".utf8))
    }

    @Test(arguments: [
        "A", "AB", "ABC", "ABCDE",  // length not a multiple of 4
        "AB!D", "AB D", "AB-_", "AB\nD", "ABC\u{e9}",  // characters outside the alphabet (é is two bytes: length 5, and 6 below)
        "AB\u{e9}D", "====", "A===", "=AAA", "A=AA", "AB=C",  // padding in the wrong place
        "AB==AAAA", "ABC=AAAA",  // padding before the last quantum
    ])
    func rejectsInvalidInput(_ text: String) {
        // Not cross-checked with Foundation: on Linux it accepts some of these ("====", "AB=C").
        #expect(Base64.decode(text) == nil)
    }

    @Test func emptyInputDecodesToNoBytes() {
        #expect(Base64.decode("") == [])
    }
}
