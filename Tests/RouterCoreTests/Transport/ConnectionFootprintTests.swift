@testable import RouterCore
import Testing

/// An idle WebSocket costs its `Connection` object and little else (BENCHMARKS, scenario e): the object's
/// size is watched here, where a new field shows at once.
@Suite struct ConnectionFootprintTests {
    /// A class's instance size from its metadata (Swift's class metadata without Objective-C interop: kind,
    /// superclass, flags, instance address point, then the instance size).
    private func instanceSize(_ type: AnyClass) -> Int {
        Int(unsafeBitCast(type, to: UnsafeRawPointer.self).load(fromByteOffset: 24, as: UInt32.self))
    }

    private final class KnownLayout {
        var word = 0
        var flag = false
    }

    @Test func anIdleConnectionFitsA464ByteHeapBlock() {
        // The reading itself: a 16-byte object header, an Int and a Bool.
        #expect(instanceSize(KnownLayout.self) == 16 + 8 + 1)
        // glibc serves n bytes from a block of (n + 8) rounded up to 16: up to 456 bytes take 464.
        #expect(instanceSize(Connection.self) <= 456, "Connection is \(instanceSize(Connection.self)) bytes")
    }
}
