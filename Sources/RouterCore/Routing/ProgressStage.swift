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
        // One pass over the stages and no array: this runs for every progress report.
        var total = 0.0
        var before = 0.0
        for (position, stage) in stages.enumerated() {
            total += stage.weight
            if position < index { before += stage.weight }
        }
        guard total > 0 else { return min(1, (Double(index) + fraction) / Double(stages.count)) }
        return min(1, (before + stages[index].weight * fraction) / total)
    }
}
