/// An array split into fixed blocks of 4,096 elements, each its own copy-on-write buffer.
///
/// Why: a ``SearchSnapshot`` shares the index with the store. With one flat array, the first write after a
/// snapshot would copy every entry; with blocks, it copies the outer array of block references and the one
/// block it touches.
struct BlockedArray<Element> {
    static var blockShift: Int { 12 }
    static var blockSize: Int { 1 << blockShift }
    static var blockMask: Int { blockSize - 1 }

    private(set) var blocks: [[Element]] = []
    private(set) var count = 0

    subscript(index: Int) -> Element {
        get { blocks[index >> Self.blockShift][index & Self.blockMask] }
        set { blocks[index >> Self.blockShift][index & Self.blockMask] = newValue }
    }

    /// Calls `body` with the element at `index` (the block itself is not copied; the element's references are
    /// counted for the call).
    func withElement<Result>(at index: Int, _ body: (Element) -> Result) -> Result {
        blocks[index >> Self.blockShift].withUnsafeBufferPointer { body($0[index & Self.blockMask]) }
    }

    /// Calls `body` with the address of the element at `index`, valid for the call: what it reads through
    /// the pointer is not copied first (no reference counted for the element's other fields).
    func withElementAddress<Result>(at index: Int, _ body: (UnsafePointer<Element>) -> Result) -> Result {
        blocks.withUnsafeBufferPointer { blocks in
            blocks[index >> Self.blockShift].withUnsafeBufferPointer { body($0.baseAddress! + (index & Self.blockMask)) }
        }
    }

    mutating func append(_ element: Element) {
        if count & Self.blockMask == 0 {
            var block: [Element] = []
            block.reserveCapacity(Self.blockSize)
            blocks.append(block)
        }
        blocks[blocks.count - 1].append(element)
        count += 1
    }
}

extension BlockedArray: Sendable where Element: Sendable {}
