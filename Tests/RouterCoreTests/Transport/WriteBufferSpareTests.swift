import Testing

@testable import RouterCore

#if canImport(Glibc)
import Glibc
#endif

/// A drained write queue leaves its emptied buffer to its loop's spare; the next queue to write takes it.
@Suite struct WriteBufferSpareTests {
    /// A connected pair of local sockets, closed by `body`'s end.
    private func withSocketPair(_ body: (_ writer: Int32, _ reader: Int32) throws -> Void) throws {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { fds.forEach { close($0) } }
        try body(fds[0], fds[1])
    }

    private func readAvailable(_ fd: Int32, count: Int) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let got = read(fd, &buffer, min(buffer.count, count - result.count))
            if got <= 0 { break }
            result += buffer[0..<got]
        }
        return result
    }

    @Test func aDrainedQueueLeavesItsBufferAndTheNextQueueWritesThroughIt() throws {
        try withSocketPair { (writer: Int32, reader: Int32) throws in
            let spare = WriteBufferSpare()
            var first = WriteQueue(spare: spare)
            Array("first reply".utf8).withUnsafeBytes { first.append($0) }
            #expect(try first.flush(to: writer) == .flushed)
            #expect(readAvailable(reader, count: 11) == Array("first reply".utf8))
            let kept = try #require(spare.take())
            #expect(kept.count == 1 && kept[0].isEmpty && kept[0].capacity >= 11)
            var list = kept
            spare.keep(&list)
            #expect(list.isEmpty)

            var second = WriteQueue(spare: spare)
            Array("header".utf8).withUnsafeBytes { second.append($0) }
            second.append(Array(" and payload".utf8))
            #expect(second.byteCount == 18)
            #expect(spare.take() == nil)  // taken by the second queue
            #expect(try second.flush(to: writer) == .flushed)
            #expect(readAvailable(reader, count: 18) == Array("header and payload".utf8))
            #expect(spare.take() != nil)
        }
    }

    @Test func aLargeBufferIsNotKept() throws {
        try withSocketPair { (writer: Int32, reader: Int32) throws in
            let spare = WriteBufferSpare()
            var queue = WriteQueue(spare: spare)
            let large = (0..<20_000).map { UInt8(truncatingIfNeeded: $0) }
            large.withUnsafeBytes { queue.append($0) }
            #expect(try queue.flush(to: writer) == .flushed)
            #expect(readAvailable(reader, count: large.count) == large)
            #expect(spare.take() == nil)
        }
    }
}
