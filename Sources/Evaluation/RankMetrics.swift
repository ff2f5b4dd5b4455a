extension MetricValues {
    /// The metrics keyed as logs, checkpoints and `--json` print them: `HR@K`, `MRR@K`,
    /// `NDCG@K`, `Precision@K` (percentages).
    public var keyed: [String: Double] {
        ["HR@\(k)": hitRate, "MRR@\(k)": mrr, "NDCG@\(k)": ndcg, "Precision@\(k)": precision]
    }
}

/// Ranking metrics of next-item examples from the rank of each target (1 = best), in percent,
/// keyed like `HR@20` (see `MetricAccumulator` for the definitions).
public func rankMetrics(ranks: [Int32], cutoffs: [Int]) -> [String: Double] {
    var accumulator = MetricAccumulator(cutoffs: cutoffs)
    for rank in ranks { accumulator.add(rank: Int(rank)) }
    var result = [String: Double]()
    for values in accumulator.values { result.merge(values.keyed) { $1 } }
    return result
}
