extension MetricValues {
    /// The metrics keyed as logs, checkpoints and `--json` print them: `HR@K`, `MRR@K`,
    /// `NDCG@K`, `Precision@K` (percentages).
    public var keyed: [String: Double] {
        ["HR@\(k)": hitRate, "MRR@\(k)": mrr, "NDCG@\(k)": ndcg, "Precision@\(k)": precision]
    }
}

extension EvaluationReport {
    /// Every cutoff's metrics in one dictionary keyed like `HR@20` (percentages).
    public var keyedMetrics: [String: Double] {
        metrics.reduce(into: [:]) { result, values in result.merge(values.keyed) { $1 } }
    }
}
