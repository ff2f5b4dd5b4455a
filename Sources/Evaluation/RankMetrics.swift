import Foundation

/// Ranking metrics of next-item examples from the rank of each target (1 = best), in percent:
///
/// - `HR@K`: share of examples whose target is in the top K (the paper's P@20, the reference's Recall@20);
/// - `MRR@K`: mean of 1/rank when rank ≤ K, else 0;
/// - `NDCG@K`: mean of 1/log2(rank + 1) when rank ≤ K, else 0 (one relevant item);
/// - `Precision@K`: HR@K / K (one relevant item per example).
public func rankMetrics(ranks: [Int32], cutoffs: [Int]) -> [String: Double] {
    var result = [String: Double]()
    let count = Double(max(ranks.count, 1))
    for k in cutoffs {
        var hits = 0.0, reciprocal = 0.0, gain = 0.0
        for rank in ranks where Int(rank) <= k {
            hits += 1
            reciprocal += 1 / Double(rank)
            gain += 1 / log2(Double(rank) + 1)
        }
        result["HR@\(k)"] = 100 * hits / count
        result["MRR@\(k)"] = 100 * reciprocal / count
        result["NDCG@\(k)"] = 100 * gain / count
        result["Precision@\(k)"] = 100 * hits / count / Double(k)
    }
    return result
}
