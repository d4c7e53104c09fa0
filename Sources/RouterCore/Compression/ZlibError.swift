internal import CZlib

/// A zlib call that did not succeed: the operation that failed and zlib's return code.
///
/// `description` reads like `deflateInit2 failed: Z_STREAM_ERROR (-2): invalid windowBits`,
/// naming the call, the code and zlib's own message when it gave one.
package struct ZlibError: Error, Sendable, Equatable, CustomStringConvertible {
    /// zlib's return code (`Z_DATA_ERROR` is -3, `Z_MEM_ERROR` -4, …).
    package let code: Int32
    /// The zlib function or step that failed, e.g. `"inflate"`.
    package let operation: String
    /// zlib's `msg` at the time of the failure, if it set one.
    package let message: String?

    package init(code: Int32, operation: String, message: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    /// The symbolic name of ``code``.
    package var codeName: String {
        switch code {
        case 0: "Z_OK"
        case 1: "Z_STREAM_END"
        case 2: "Z_NEED_DICT"
        case -1: "Z_ERRNO"
        case -2: "Z_STREAM_ERROR"
        case -3: "Z_DATA_ERROR"
        case -4: "Z_MEM_ERROR"
        case -5: "Z_BUF_ERROR"
        case -6: "Z_VERSION_ERROR"
        default: "zlib code"
        }
    }

    package var description: String {
        var text = "\(operation) failed: \(codeName) (\(code))"
        if let message, !message.isEmpty { text += ": \(message)" }
        return text
    }

    /// Builds the error from a stream, picking up zlib's `msg`.
    init(code: Int32, operation: String, stream: UnsafeMutablePointer<z_stream>) {
        self.init(code: code, operation: operation, message: stream.pointee.msg.map { String(cString: $0) })
    }
}

/// The container format a zlib stream reads or writes, which fixes the `windowBits` argument (zlib.h, `deflateInit2`).
enum ZlibFormat: Sendable, Equatable {
    /// Raw DEFLATE (RFC 1951), no header or trailer: permessage-deflate (RFC 7692). `windowBits` is 9…15
    /// (zlib rejects a raw window of 8 for deflate) and is passed to zlib negated.
    case raw(windowBits: Int)
    /// gzip (RFC 1952) with its header and CRC-32 trailer: zlib's `16 + windowBits`.
    case gzip

    /// The value for `deflateInit2` / `inflateInit2`.
    var zlibWindowBits: Int32 {
        switch self {
        case .raw(let bits): -Int32(min(max(bits, 9), 15))
        case .gzip: 16 + 15
        }
    }
}
