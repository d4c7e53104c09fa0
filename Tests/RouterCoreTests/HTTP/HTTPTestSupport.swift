import Foundation
@testable import RouterCore

/// Helpers shared by the HTTP tests. Names carry an `http` prefix: the test target is one module.
enum HTTPTestSupport {
    /// Feeds `bytes` whole to a parser.
    static func parse(_ bytes: [UInt8], parser: HTTPHeadParser = HTTPHeadParser()) -> Result<(head: HTTPRequestHead, consumed: Int)?, HTTPParseError> {
        var parser = parser
        return bytes.withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                return .success(try parser.parse(buffer))
            } catch {
                return .failure(error)
            }
        }
    }

    static func parse(_ text: String, parser: HTTPHeadParser = HTTPHeadParser()) -> Result<(head: HTTPRequestHead, consumed: Int)?, HTTPParseError> {
        parse(Array(text.utf8), parser: parser)
    }

    /// Feeds one more prefix to the same parser, as a connection does while bytes trickle in.
    static func feed(_ parser: inout HTTPHeadParser, _ bytes: ArraySlice<UInt8>) -> Result<(head: HTTPRequestHead, consumed: Int)?, HTTPParseError> {
        Array(bytes).withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                return .success(try parser.parse(buffer))
            } catch {
                return .failure(error)
            }
        }
    }

    static func parseResponse(_ parser: inout HTTPResponseHeadParser, _ bytes: ArraySlice<UInt8>) -> Result<(head: HTTPResponseHead, consumed: Int)?, HTTPParseError> {
        Array(bytes).withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                return .success(try parser.parse(buffer))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Deterministic bytes covering every value.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Runs `/usr/bin/sha1sum` on `input` and returns the hex digest it prints.
    static func sha1sum(_ input: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha1sum")
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SHA1SumFailed(status: process.terminationStatus) }
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    struct SHA1SumFailed: Error { let status: Int32 }

    static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// `Sec-WebSocket-Accept` computed independently: sha1sum and Foundation's base64.
    static func referenceAcceptKey(_ key: String) throws -> String {
        let hex = try sha1sum(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        var digest: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            digest.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return Data(digest).base64EncodedString()
    }
}

extension Result {
    /// The success value, or nil.
    var httpValue: Success? {
        if case .success(let value) = self { return value }
        return nil
    }

    /// The failure, or nil.
    var httpError: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
