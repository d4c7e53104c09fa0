/// A named phase of an operation with a relative weight in its overall progress.
///
/// Overall progress for stage `i` at fraction `f` is `(w₀ + … + wᵢ₋₁ + wᵢ·f) / Σw`. When every
/// weight is zero, stages count equally.
public struct ProgressStage: Sendable, Hashable {
    public var name: String
    /// Relative share of the whole operation (any non-negative scale).
    public var weight: Double

    public init(_ name: String, weight: Double = 1) {
        self.name = name
        self.weight = max(0, weight.isFinite ? weight : 0)
    }

    /// Overall progress (0…1) at `fraction` (clamped to 0…1) of the stage at `index`.
    static func overall(_ stages: [ProgressStage], stageIndex index: Int, fraction: Double) -> Double {
        guard stages.indices.contains(index) else { return 0 }
        let fraction = min(1, max(0, fraction.isNaN ? 0 : fraction))
        var weights = stages.map(\.weight)
        var total = weights.reduce(0, +)
        if total <= 0 {
            weights = Array(repeating: 1, count: stages.count)
            total = Double(stages.count)
        }
        let before = weights[..<index].reduce(0, +)
        return min(1, (before + weights[index] * fraction) / total)
    }
}
