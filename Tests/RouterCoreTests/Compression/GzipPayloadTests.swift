import Foundation
import Testing

@testable import RouterCore

@Suite("GzipPayload: gzip (RFC 1952) for the gzip+base64 envelope")
struct GzipPayloadTests {
    @Test("Round trip of empty, small, random and repetitive payloads", arguments: [0, 1, 1_000, 200_000])
    func roundTrip(size: Int) throws {
        for payload in [pseudoRandomBytes(count: size, seed: UInt64(size)), repetitiveBytes(count: size)] {
            let gz = GzipPayload.compress(payload)
            #expect(Array(gz.prefix(3)) == [0x1f, 0x8b, 0x08])  // magic + CM=deflate
            #expect(try GzipPayload.decompress(gz, limit: size) == payload)
        }
    }

    @Test("The output is readable by the system's gzip -dc")
    func systemGzipReadsIt() throws {
        let gzip = ["/usr/bin/gzip", "/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }
        try #require(gzip != nil, "no gzip binary on this system")
        let payload = repetitiveBytes(count: 50_000) + pseudoRandomBytes(count: 5_000, seed: 3)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-payload-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(GzipPayload.compress(payload)).write(to: file)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: gzip!)
        process.arguments = ["-dc", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect([UInt8](output) == payload)
    }

    @Test("Data from the system's gzip decompresses, and concatenated members are read like gzip -dc does")
    func readsConcatenatedMembers() throws {
        let a = Array("first member\n".utf8)
        let b = Array("second member\n".utf8)
        #expect(try GzipPayload.decompress(GzipPayload.compress(a) + GzipPayload.compress(b), limit: 100) == a + b)
    }

    @Test("Limit, corruption and truncation")
    func failures() throws {
        let payload = repetitiveBytes(count: 10_000)
        let gz = GzipPayload.compress(payload)
        #expect(throws: InflateFailure.tooLarge(limit: 9_999)) { try GzipPayload.decompress(gz, limit: 9_999) }

        let truncated = Array(gz.dropLast(10))
        #expect(throws: InflateFailure.corrupt(detail: "gzip data is truncated")) {
            try GzipPayload.decompress(truncated, limit: 20_000)
        }

        var badCRC = gz
        badCRC[badCRC.count - 8] ^= 0xff  // first byte of the CRC-32 trailer
        let crcError = #expect(throws: InflateFailure.self) { try GzipPayload.decompress(badCRC, limit: 20_000) }
        #expect(crcError.map { "\($0)".contains("incorrect data check") } == true)

        let notGzip = #expect(throws: InflateFailure.self) { try GzipPayload.decompress(Array("hello".utf8), limit: 100) }
        #expect(notGzip.map { "\($0)".contains("incorrect header check") } == true)
    }

    @Test("base64 helpers round trip and reject bad base64")
    func base64() throws {
        let payload = repetitiveBytes(count: 3_000)
        let text = GzipPayload.base64(payload)
        #expect(Data(base64Encoded: text).map { [UInt8]($0.prefix(2)) } == [0x1f, 0x8b])
        #expect(try GzipPayload.decompress(base64: text, limit: 3_000) == payload)
        #expect(throws: InflateFailure.corrupt(detail: "invalid base64")) {
            try GzipPayload.decompress(base64: "not base64!", limit: 10)
        }
    }
}
