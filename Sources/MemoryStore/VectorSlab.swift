/// Unit-length embeddings stored contiguously (one `Float` run per block of 1,024 documents, each vector
/// padded to a multiple of 8 lanes), scored with `SIMD8<Float>` dot products.
///
/// Vectors are normalized on insert, so cosine similarity is a plain dot product with the normalized query.
/// Blocks (rather than one run for the whole corpus) keep copy-on-write cheap when a snapshot is alive:
/// a write copies one block, not the slab. Blocks with no vectors allocate nothing.
struct VectorSlab: Sendable {
    static let blockSize = 1024

    /// Fixed once known (at open, or by the first embedding).
    private(set) var dimension: Int?
    /// `dimension` rounded up to a multiple of 8 (the SIMD width); padding lanes are 0.
    private(set) var stride = 0
    private var blocks: [[Float]] = []
    /// Per document: whether it has a (live) vector.
    private(set) var hasVector: [Bool] = []

    init(dimension: Int?) {
        if let dimension { fix(dimension) }
    }

    private mutating func fix(_ dimension: Int) {
        self.dimension = dimension
        self.stride = (dimension + 7) & ~7
    }

    /// Appends the next document's vector (nil for none). `vector` must have the slab's dimension and a
    /// non-zero, finite norm (validated by the store).
    mutating func append(_ vector: [Float]?) {
        let doc = hasVector.count
        guard let vector else {
            hasVector.append(false)
            return
        }
        if dimension == nil { fix(vector.count) }
        let block = doc / Self.blockSize
        while blocks.count <= block { blocks.append([]) }
        if blocks[block].isEmpty { blocks[block] = [Float](repeating: 0, count: Self.blockSize * stride) }
        let norm = Self.norm(vector)
        let base = (doc % Self.blockSize) * stride
        blocks[block].withUnsafeMutableBufferPointer { slab in
            for index in 0..<vector.count { slab[base + index] = vector[index] / norm }
        }
        hasVector.append(true)
    }

    /// Forgets a deleted document's vector.
    mutating func remove(_ doc: Int) {
        hasVector[doc] = false
    }

    /// Euclidean norm (accumulated in Double).
    static func norm(_ vector: [Float]) -> Float {
        var sum = 0.0
        for value in vector { sum += Double(value) * Double(value) }
        return Float(sum.squareRoot())
    }

    /// A normalized query padded to `stride` lanes.
    func paddedUnit(_ query: [Float]) -> [Float] {
        var padded = [Float](repeating: 0, count: stride)
        let norm = Self.norm(query)
        for index in 0..<query.count { padded[index] = query[index] / norm }
        return padded
    }

    /// Writes `cosine(query, doc)` into `scores[doc]` for every doc in `range`, and `-infinity` for docs with no
    /// vector. `query` comes from ``paddedUnit(_:)``.
    func scores(_ query: [Float], range: Range<Int>, into scores: inout [Float]) {
        precondition(scores.count >= range.upperBound, "scores must hold at least \(range.upperBound) values")
        let stride = self.stride
        scores.withUnsafeMutableBufferPointer { out in
            hasVector.withUnsafeBufferPointer { present in
                query.withUnsafeBytes { queryBytes in
                    var doc = range.lowerBound
                    while doc < range.upperBound {
                        let block = doc / Self.blockSize
                        let blockEnd = min(range.upperBound, (block + 1) * Self.blockSize)
                        if block >= blocks.count || blocks[block].isEmpty {
                            for index in doc..<blockEnd { out[index] = -.infinity }
                            doc = blockEnd
                            continue
                        }
                        blocks[block].withUnsafeBytes { slab in
                            for index in doc..<blockEnd {
                                guard present[index] else {
                                    out[index] = -.infinity
                                    continue
                                }
                                let base = (index % Self.blockSize) * stride * 4
                                out[index] = min(1, max(-1, Self.dot(queryBytes, slab, offset: base, lanes: stride)))
                            }
                        }
                        doc = blockEnd
                    }
                }
            }
        }
    }

    /// SIMD dot product of `lanes` floats (a multiple of 8), two accumulators for instruction-level parallelism.
    @inline(__always)
    static func dot(_ query: UnsafeRawBufferPointer, _ slab: UnsafeRawBufferPointer, offset: Int, lanes: Int) -> Float {
        var first = SIMD8<Float>()
        var second = SIMD8<Float>()
        var lane = 0
        while lane + 16 <= lanes {
            first += query.loadUnaligned(fromByteOffset: lane * 4, as: SIMD8<Float>.self)
                * slab.loadUnaligned(fromByteOffset: offset + lane * 4, as: SIMD8<Float>.self)
            second += query.loadUnaligned(fromByteOffset: lane * 4 + 32, as: SIMD8<Float>.self)
                * slab.loadUnaligned(fromByteOffset: offset + lane * 4 + 32, as: SIMD8<Float>.self)
            lane += 16
        }
        if lane < lanes {
            first += query.loadUnaligned(fromByteOffset: lane * 4, as: SIMD8<Float>.self)
                * slab.loadUnaligned(fromByteOffset: offset + lane * 4, as: SIMD8<Float>.self)
        }
        return (first + second).sum()
    }
}
