internal import CZlib
internal import Foundation

/// gzip (RFC 1952) for the `gzip+base64` envelope of DESIGN §4, used when permessage-deflate was not negotiated.
package enum GzipPayload {
    /// The compression level used: zlib's default, 6.
    package static let compressionLevel = 6

    /// Compresses `bytes` into one gzip member (header, DEFLATE data, CRC-32 and length trailer).
    package static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        do {
            let deflater = try Deflater(format: .gzip, level: compressionLevel, memoryLevel: 8)
            try bytes.withUnsafeBytes { input in
                try deflater.compress(input, flush: Z_FINISH, into: &output)
            }
        } catch {
            // Only allocation failure (Z_MEM_ERROR) can get here.
            preconditionFailure("gzip: \(error)")
        }
        return output
    }

    /// Decompresses gzip data (one member or several concatenated, as `gzip -dc` reads them), producing at most
    /// `limit` bytes.
    /// - Throws: ``InflateFailure/tooLarge(limit:)`` past `limit`; ``InflateFailure/corrupt(detail:)`` for a bad
    ///   header, a CRC mismatch, invalid data or truncated input.
    package static func decompress(_ bytes: [UInt8], limit: Int) throws(InflateFailure) -> [UInt8] {
        let inflater: Inflater
        do {
            inflater = try Inflater(format: .gzip)
        } catch {
            throw .corrupt(detail: error.description)
        }
        var output: [UInt8] = []
        try narrowingToInflateFailure {
            try bytes.withUnsafeBytes { input in
            var rest = input
            repeat {
                let progress = try inflater.inflate(rest, into: &output, limit: limit)
                guard progress.streamEnded else { throw InflateFailure.corrupt(detail: "gzip data is truncated") }
                rest = UnsafeRawBufferPointer(rebasing: rest[progress.consumed...])
                inflater.reset()
            } while !rest.isEmpty
            }
        }
        return output
    }

    /// Base64 of the gzip of `bytes`: the `data` field of a `gzip+base64` envelope.
    package static func base64(_ bytes: [UInt8]) -> String {
        Data(compress(bytes)).base64EncodedString()
    }

    /// Reverses ``base64(_:)``: decodes base64, then gunzips at most `limit` bytes.
    package static func decompress(base64 text: String, limit: Int) throws(InflateFailure) -> [UInt8] {
        guard let data = Data(base64Encoded: text) else { throw .corrupt(detail: "invalid base64") }
        return try decompress([UInt8](data), limit: limit)
    }
}
