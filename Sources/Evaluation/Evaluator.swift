import Dispatch
import SessionData
import TensorCore

/// One next-item test example: the clicked prefix (time order) and the item clicked next.
public struct TestExample: Sendable, Equatable {
    public var prefix: ArraySlice<Int32>
    public var target: Int32

    public init(prefix: ArraySlice<Int32>, target: Int32) {
        self.prefix = prefix
        self.target = target
    }

    /// The examples of `set` (all, or those at `indices`), sharing its storage.
    public static func examples(of set: ExampleSet, indices: [Int]? = nil) -> [TestExample] {
        (indices ?? Array(0..<set.count)).map { TestExample(prefix: set.prefix($0), target: set.targets[$0]) }
    }

    /// Pairs prefixes with targets (the shape of SR-GNN's `test.txt`).
    public static func examples(prefixes: [[Int32]], targets: [Int32]) -> [TestExample] {
        precondition(prefixes.count == targets.count, "\(prefixes.count) prefixes but \(targets.count) targets")
        return zip(prefixes, targets).map { TestExample(prefix: $0[...], target: $1) }
    }
}

/// What ``Evaluator/evaluate(_:on:)`` measured for one scorer.
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var name: String
    public var examples: Int
    /// HR, MRR, NDCG, precision in % at each cutoff, in the evaluator's order.
    public var metrics: [MetricValues]
    /// The K of `coverage` and `popularityBias`; nil when the evaluator made no top-K lists.
    public var listLength: Int?
    /// Item coverage@listLength in % (see ``coverage(of:itemCount:)``); nil without lists.
    public var coverage: Double?
    /// Popularity bias@listLength in % (see ``popularityBias(of:popularity:)``); nil without training popularity.
    public var popularityBias: Double?
    /// Wall-clock time of scoring and ranking all examples, seconds.
    public var elapsedSeconds: Double
    public var examplesPerSecond: Double
    public var threads: Int
    public var ties: TiePolicy

    /// The metrics at cutoff `k`, if measured.
    public func metrics(at k: Int) -> MetricValues? { metrics.first { $0.k == k } }
}

/// Runs a ``SessionScorer`` over test examples with full ranking over all items and reports
/// HR/MRR/NDCG/precision at each cutoff, coverage and popularity bias of the top-`listLength` lists,
/// and the throughput.
///
/// Examples are split into `threads` contiguous chunks (``parallelFor``); each worker owns a score
/// buffer `[batch, itemCount]` sized once and its own accumulators, merged at the end, so hit
/// rates, coverage and popularity bias do not depend on the thread count, and MRR/NDCG only in the
/// last bits of their Double sums. Top-K lists for coverage break score ties by the
/// lower item id (``topK(_:count:k:)``); the target's rank follows `ties`.
public struct Evaluator: Sendable {
    /// Cutoffs K of the accuracy metrics. Default [5, 10, 20].
    public var cutoffs: [Int]
    /// K of the coverage and popularity-bias lists. Default 20; nil measures accuracy only, through
    /// the scorer's ``SessionScorer/targetPositions(sessions:targets:into:)`` (for SR-GNN: no score matrix).
    public var listLength: Int?
    /// Worker threads. Default 1 (deterministic and inline).
    public var threads: Int
    /// How ties with the target's score are ranked. Default `.average` (the expected metrics under a
    /// random order of tied items): identical to `.optimistic` (1 + #strictly greater, the reference's
    /// count) for model scores, which do not tie, and fair to sparse-score baselines, which tie most
    /// items at 0 (see ``TiePolicy``).
    public var ties: TiePolicy
    /// Sessions per scoring call; `nil` (default) uses the scorer's ``SessionScorer/preferredBatchSize``.
    public var batchSize: Int?
    /// Training click counts `popularity[id − 1]` for popularity bias (``itemPopularity(of:itemCount:)``); nil skips it.
    public var popularity: [Int]?

    public init(
        cutoffs: [Int] = [5, 10, 20], listLength: Int? = 20, threads: Int = 1, ties: TiePolicy = .average,
        batchSize: Int? = nil, popularity: [Int]? = nil
    ) {
        precondition(!cutoffs.isEmpty && cutoffs.allSatisfy { $0 > 0 }, "cutoffs must be positive")
        precondition((listLength ?? 1) > 0 && threads > 0, "listLength and threads must be positive")
        self.cutoffs = cutoffs
        self.listLength = listLength
        self.threads = threads
        self.ties = ties
        self.batchSize = batchSize
        self.popularity = popularity
    }

    public func evaluate(_ scorer: some SessionScorer, prefixes: [[Int32]], targets: [Int32]) -> EvaluationReport {
        evaluate(scorer, on: TestExample.examples(prefixes: prefixes, targets: targets))
    }

    public func evaluate(_ scorer: some SessionScorer, on examples: [TestExample]) -> EvaluationReport {
        evaluate(scorer, on: examples, recordingPositionsIn: nil)
    }

    /// ``evaluate(_:on:)`` that also returns where each example's target stood (in example order),
    /// for per-example metrics and paired tests (``PerExampleMetrics``).
    public func evaluateKeepingPositions(
        _ scorer: some SessionScorer, on examples: [TestExample]
    )
        -> (report: EvaluationReport, positions: [TargetPosition])
    {
        var positions = [TargetPosition](repeating: TargetPosition(greater: 0, tied: 1), count: examples.count)
        let report = positions.withUnsafeMutableBufferPointer { evaluate(scorer, on: examples, recordingPositionsIn: $0) }
        return (report, positions)
    }

    /// The evaluation; with `recorded`, example `e`'s position is written to `recorded[e]` (each
    /// worker writes only its own chunk).
    private func evaluate(
        _ scorer: some SessionScorer, on examples: [TestExample],
        recordingPositionsIn recorded: UnsafeMutableBufferPointer<TargetPosition>?
    ) -> EvaluationReport {
        let itemCount = scorer.itemCount
        precondition(
            popularity == nil || popularity!.count == itemCount, "popularity has \(popularity!.count) entries, scorer \(itemCount) items")
        for example in examples {
            precondition(example.target >= 1 && Int(example.target) <= itemCount, "target \(example.target) outside 1...\(itemCount)")
            precondition(!example.prefix.isEmpty, "empty prefix")
        }
        let batch = max(1, batchSize ?? scorer.preferredBatchSize)
        let workers = max(1, min(threads, examples.count))
        let listLength = self.listLength.map { min($0, itemCount) }
        var metricParts = [MetricAccumulator](repeating: MetricAccumulator(cutoffs: cutoffs), count: workers)
        var coverageParts = [CoverageAccumulator](
            repeating: CoverageAccumulator(itemCount: itemCount, k: listLength ?? 1, popularity: popularity), count: workers)

        let start = DispatchTime.now().uptimeNanoseconds
        metricParts.withUnsafeMutableBufferPointer { metricParts in
            coverageParts.withUnsafeMutableBufferPointer { coverageParts in
                // Each worker writes only its own slot.
                nonisolated(unsafe) let metricParts = metricParts
                nonisolated(unsafe) let coverageParts = coverageParts
                nonisolated(unsafe) let recorded = recorded
                parallelFor(workers, threads: workers) { worker in
                    let chunk = (examples.count * worker / workers)..<(examples.count * (worker + 1) / workers)
                    var metrics = MetricAccumulator(cutoffs: cutoffs)
                    var lists = coverageParts[worker]
                    var sessions: [ArraySlice<Int32>] = [], targets: [Int32] = []
                    sessions.reserveCapacity(batch)
                    targets.reserveCapacity(batch)
                    // Scores for top-K lists, or target positions straight from the scorer.
                    var scores = [Float](repeating: 0, count: listLength == nil ? 0 : batch * itemCount)
                    var positions = [TargetPosition](repeating: TargetPosition(greater: 0, tied: 1), count: batch)
                    for batchStart in stride(from: chunk.lowerBound, to: chunk.upperBound, by: batch) {
                        let batchRange = batchStart..<min(batchStart + batch, chunk.upperBound)
                        sessions.removeAll(keepingCapacity: true)
                        targets.removeAll(keepingCapacity: true)
                        for e in batchRange { sessions.append(examples[e].prefix); targets.append(examples[e].target) }
                        if let listLength {
                            scores.withUnsafeMutableBufferPointer { scores in
                                scorer.score(sessions: sessions, into: scores)
                                for b in 0..<sessions.count {
                                    let row = UnsafeBufferPointer(rebasing: scores[(b * itemCount)..<((b + 1) * itemCount)])
                                    let position = targetPosition(of: targets[b], scores: row)
                                    metrics.add(position, ties: ties)
                                    recorded?[batchStart + b] = position
                                    lists.add(topK(row.baseAddress!, count: itemCount, k: listLength).lazy.map { Int32($0 + 1) })
                                }
                            }
                        } else {
                            positions.withUnsafeMutableBufferPointer { positions in
                                scorer.targetPositions(sessions: sessions, targets: targets, into: positions)
                                for b in 0..<sessions.count {
                                    metrics.add(positions[b], ties: ties)
                                    recorded?[batchStart + b] = positions[b]
                                }
                            }
                        }
                    }
                    metricParts[worker] = metrics
                    coverageParts[worker] = lists
                }
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        var metrics = metricParts[0], lists = coverageParts[0]
        for worker in 1..<workers {
            metrics.merge(metricParts[worker])
            lists.merge(coverageParts[worker])
        }
        return EvaluationReport(
            name: scorer.name, examples: examples.count, metrics: metrics.values, listLength: listLength,
            coverage: listLength.map { _ in 100 * lists.coverage },
            popularityBias: listLength == nil ? nil : lists.popularityBias.map { 100 * $0 },
            elapsedSeconds: elapsed, examplesPerSecond: elapsed > 0 ? Double(examples.count) / elapsed : 0,
            threads: workers, ties: ties)
    }
}
