import Foundation
import Testing
@testable import RouterCore

@Suite("SHA1")
struct SHA1Tests {
    private func hex(_ message: [UInt8]) -> String { HTTPTestSupport.hexString(SHA1.hash(message)) }

    @Test func fipsVectorABC() {
        #expect(hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test func emptyInput() {
        #expect(hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test func twoBlockFipsVector() {
        // FIPS 180-2 appendix A.2: 56 bytes, so the length needs a second block.
        #expect(hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    @Test func oneMillionAs() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(hex(message) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func digestIsTwentyBytes() {
        #expect(SHA1.hash(Array("x".utf8)).count == 20)
    }

    /// Lengths around the padding boundaries (55 fits the length in one block, 56 does not; 64 is one full block).
    @Test(arguments: [55, 56, 63, 64, 65, 119, 120, 127, 128, 129])
    func paddingBoundariesMatchSha1sum(length: Int) throws {
        let message = HTTPTestSupport.bytes(count: length, seed: UInt64(length))
        let expected = try HTTPTestSupport.sha1sum(message)
        #expect(expected.count == 40)
        #expect(hex(message) == expected)
    }

    @Test func rfc6455AcceptKey() {
        #expect(UpgradeHandshake.acceptKey(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func acceptKeyMatchesSha1sumAndFoundationBase64() throws {
        for seed in UInt64(1)...4 {
            let key = Data(HTTPTestSupport.bytes(count: 16, seed: seed)).base64EncodedString()
            #expect(UpgradeHandshake.acceptKey(for: key) == (try HTTPTestSupport.referenceAcceptKey(key)))
        }
    }
}
