import Dispatch
import Evaluation
import Foundation
import SessionData
import TensorCore
import Testing

/// Synthetic sessions shaped like Diginetica: lengths 2 + Geometric (mean 4.85), items drawn from a
/// Zipf(1) popularity over `itemCount` items mapped to shuffled ids.
func syntheticSessions(count: Int, itemCount: Int, seed: UInt64) -> [[Int32]] {
    var rng = SeededGenerator(seed: seed)
    var cumulative = [Double](repeating: 0, count: itemCount)
    var total = 0.0
    for r in 0..<itemCount { total += 1 / Double(r + 1); cumulative[r] = total }
    var ids = (1...itemCount).map(Int32.init)
    ids.shuffle(using: &rng)
    let continueProbability = 2.85 / 3.85  // P(another click) of a geometric with mean 2.85 extra clicks
    return (0..<count).map { _ in
        var session: [Int32] = []
        repeat {
            let u = Double(rng.next() >> 11) / Double(1 << 53) * total
            var low = 0, high = itemCount - 1
            while low < high { let mid = (low + high) / 2; if cumulative[mid] < u { low = mid + 1 } else { high = mid } }
            session.append(ids[low])
        } while session.count < 2 || Double(rng.next() >> 11) / Double(1 << 53) < continueProbability
        return session
    }
}

@Suite struct BaselineBenchmark {
    /// Full-size timing (Diginetica: 186,670 training sessions, 43,097 items, 60,858 test examples).
    /// Run in release: `SRGNN_BASELINE_BENCH=1 swift test -c release --filter BaselineBenchmark`
    /// (`SRGNN_BASELINE_BENCH_ONLY=POP,SR` for a subset; `SRGNN_BASELINE_BENCH_TEXT=folder` for real
    /// sessions as text, see below).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SRGNN_BASELINE_BENCH"] == "1"))
    func fitAndEvaluateAtDigineticaSize() {
        var itemCount = 43_097
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var training: [[Int32]] = [], examples: [TestExample] = []
        if let folder = ProcessInfo.processInfo.environment["SRGNN_BASELINE_BENCH_TEXT"] {
            // Real data until SessionData's readers land: a folder with train.txt (one session per
            // line) and test.txt ("target prefix…" per line), ids space-separated.
            func lines(_ name: String) -> [[Int32]] {
                let text = (try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int32($0) } }
            }
            training = lines("train.txt")
            examples = lines("test.txt").map { TestExample(prefix: $0[1...], target: $0[0]) }
            itemCount = Int(training.lazy.flatMap { $0 }.max() ?? 0)
        } else {
            training = syntheticSessions(count: 186_670, itemCount: itemCount, seed: 1)
            for session in syntheticSessions(count: 30_000, itemCount: itemCount, seed: 2) where examples.count < 60_858 {
                for end in stride(from: session.count - 1, through: 1, by: -1) where examples.count < 60_858 {
                    examples.append(TestExample(prefix: session[..<end], target: session[end]))
                }
            }
        }
        print(
            "\(training.count) sessions, \(training.reduce(0) { $0 + $1.count }) clicks, \(itemCount) items, \(examples.count) test examples, \(threads) threads"
        )
        // SRGNN_BASELINE_BENCH_TIES=optimistic|pessimistic|average (default average).
        let ties = ProcessInfo.processInfo.environment["SRGNN_BASELINE_BENCH_TIES"].flatMap(TiePolicy.init(rawValue:)) ?? .average
        let evaluator = Evaluator(threads: threads, ties: ties, popularity: itemPopularity(of: training, itemCount: itemCount))
        var totalFit = 0.0
        // SRGNN_BASELINE_BENCH_ONLY=SR,V-SKNN restricts the run to those baselines.
        let only = ProcessInfo.processInfo.environment["SRGNN_BASELINE_BENCH_ONLY"]?.split(separator: ",").map(String.init)
        func run<F: SessionModelFitter>(_ fitter: F) {
            if let only, !only.contains(fitter.name) { return }
            let start = DispatchTime.now().uptimeNanoseconds
            let model = fitter.fit(sessions: training, itemCount: itemCount)
            let fit = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            totalFit += fit
            let report = evaluator.evaluate(model, on: examples)
            print(
                fitter.name.padding(toLength: 9, withPad: " ", startingAt: 0)
                    + String(
                        format: "fit %6.2f s  evaluate %6.2f s (%7.0f ex/s)  HR@20 %5.2f  MRR@20 %5.2f  cov@20 %5.2f  pop@20 %5.2f",
                        fit, report.elapsedSeconds, report.examplesPerSecond,
                        report.metrics(at: 20)!.hitRate, report.metrics(at: 20)!.mrr, report.coverage!, report.popularityBias!))
            #expect(report.elapsedSeconds < 120)
        }
        run(Popularity())
        run(SessionPopularity())
        run(ItemKNN())
        run(SequentialRules())
        run(SessionKNN())
        run(VectorSessionKNN())
        print(String(format: "all fits: %.2f s", totalFit))
        if only == nil { #expect(totalFit < 60) }
    }
}
