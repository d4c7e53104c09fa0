/// Keeps the `k` best `(score, doc)` pairs seen, with a binary min-heap (O(n log k)).
///
/// "Better" means a higher score; equal scores prefer the higher doc number (the more recently written
/// entry), which makes every ranking deterministic.
struct TopK {
    struct Item {
        var score: Float
        var doc: Int32
    }

    let k: Int
    private(set) var heap: [Item] = []

    init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(min(self.k, 1 << 16))
    }

    @inline(__always)
    static func isWorse(_ lhs: Item, _ rhs: Item) -> Bool {
        lhs.score < rhs.score || (lhs.score == rhs.score && lhs.doc < rhs.doc)
    }

    /// Keeps `(score, doc)` if it is better than the worst kept item (or there is room): a candidate that is
    /// not costs one comparison (inlined into the scan that offers it).
    @inline(__always)
    mutating func insert(score: Float, doc: Int) {
        guard k > 0 else { return }
        let item = Item(score: score, doc: Int32(doc))
        if heap.count < k {
            heap.append(item)
            siftUp(heap.count - 1)
        } else if Self.isWorse(heap[0], item) {
            heap[0] = item
            siftDown(0)
        }
    }

    /// Best first: the heap's own storage, sorted in place.
    consuming func sorted() -> [Item] {
        var items = heap
        heap = []
        items.sort { Self.isWorse($1, $0) }
        return items
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.isWorse(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var worst = parent
            if left < heap.count && Self.isWorse(heap[left], heap[worst]) { worst = left }
            if right < heap.count && Self.isWorse(heap[right], heap[worst]) { worst = right }
            if worst == parent { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
