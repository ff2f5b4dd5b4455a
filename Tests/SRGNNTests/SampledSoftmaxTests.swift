import Foundation
import SRGNN
import TensorCore
import Testing

/// The sampled softmax (issue 31 item 1) against a double-precision reference of its objective,
/// central differences of that reference, and the full softmax it reduces to.
@Suite struct SampledSoftmaxTests {
    struct Case {
        var b = 3, d = 4, rows = 9
        var s: [Double] = [], e: [Double] = []
        var candidates: [Int32] = []
        var logQ: [Double] = []
    }

    /// Targets 2, 5, 2 (row 2 repeats row 0's target: an accidental hit both ways), negatives with
    /// a copy of a target (5) and a repeated negative (7).
    static func example() -> Case {
        var generator = SeededGenerator(seed: 12)
        var c = Case()
        c.s = (0..<(c.b * c.d)).map { _ in Double(generator.uniform(-1, 1)) }
        c.e = (0..<(c.rows * c.d)).map { _ in Double(generator.uniform(-1, 1)) }
        c.candidates = [2, 5, 2, 7, 5, 1, 7, 8]
        c.logQ = c.candidates.map { log(0.3 + 0.1 * Double($0)) }
        return c
    }

    /// The objective in Double: (1/B) Σ_b [log Σ_{c ∉ H_b} e^{z_bc} − z_bb].
    static func referenceLoss(_ c: Case, s: [Double], e: [Double], normalize: Bool) -> Double {
        var total = 0.0
        for row in 0..<c.b {
            var terms = [Double](), positive = 0.0
            for (column, item) in c.candidates.enumerated() {
                if column != row && item == c.candidates[row] { continue }
                var vector = (0..<c.d).map { e[Int(item) * c.d + $0] }
                if normalize {
                    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    vector = vector.map { $0 / norm }
                }
                let z = (0..<c.d).reduce(0) { $0 + s[row * c.d + $1] * vector[$1] } - c.logQ[column]
                terms.append(z)
                if column == row { positive = z }
            }
            let maximum = terms.max()!
            total += log(terms.reduce(0) { $0 + exp($1 - maximum) }) + maximum - positive
        }
        return total / Double(c.b)
    }

    static func ours(_ c: Case, normalize: Bool) -> (loss: Double, ds: [Float], de: [Float]) {
        let layer = SampledSoftmax(hiddenSize: c.d, normalize: normalize, path: ScoreKernels.defaultPath)
        let ws = SampledSoftmaxWorkspace()
        let s = c.s.map(Float.init), e = c.e.map(Float.init), logQ = c.logQ.map(Float.init)
        var ds = [Float](repeating: .nan, count: c.b * c.d), de = [Float](repeating: 0, count: c.rows * c.d)
        let loss = c.candidates.withUnsafeBufferPointer { candidates in
            let loss = layer.loss(
                sessionEmbedding: s, batchSize: c.b, candidates: candidates, logCorrection: logQ, embedding: e, workspace: ws)
            layer.backward(
                sessionEmbedding: s, batchSize: c.b, candidates: candidates, lossScale: 1 / Float(c.b), workspace: ws,
                dSessionEmbedding: &ds, dRows: &de, rowIndices: candidates)
            return loss
        }
        return (loss / Double(c.b), ds, de)
    }

    @Test(arguments: [false, true])
    func lossAndGradientsMatchTheDoubleReference(normalize: Bool) {
        let c = Self.example()
        let (loss, ds, de) = Self.ours(c, normalize: normalize)
        let reference = Self.referenceLoss(c, s: c.s, e: c.e, normalize: normalize)
        #expect(abs(loss - reference) < 1e-5 * max(1, abs(reference)), "\(loss) vs \(reference)")
        // Central differences of the Double objective, exact to ~1e-9 with h = 1e-5.
        let h = 1e-5
        func numeric(_ vary: (inout Case, Double) -> Void) -> Double {
            var plus = c, minus = c
            vary(&plus, h)
            vary(&minus, -h)
            return
                (Self.referenceLoss(plus, s: plus.s, e: plus.e, normalize: normalize)
                - Self.referenceLoss(minus, s: minus.s, e: minus.e, normalize: normalize)) / (2 * h)
        }
        for i in 0..<(c.b * c.d) {
            let expected = numeric { $0.s[i] += $1 }
            #expect(abs(Double(ds[i]) - expected) < 1e-5 + 1e-3 * abs(expected), "ds[\(i)]: \(ds[i]) vs \(expected)")
        }
        for i in 0..<(c.rows * c.d) {
            let expected = numeric { $0.e[i] += $1 }
            #expect(abs(Double(de[i]) - expected) < 1e-5 + 1e-3 * abs(expected), "de[\(i)]: \(de[i]) vs \(expected)")
        }
        // Rows never among the candidates get no gradient; row 3 is not a candidate.
        #expect((0..<c.d).allSatisfy { de[3 * c.d + $0] == 0 && de[0 * c.d + $0] == 0 })
    }

    /// The log-Q term and the mask matter: without either the loss differs.
    @Test func correctionAndMaskChangeTheObjective() {
        let c = Self.example()
        var uncorrected = c
        uncorrected.logQ = c.logQ.map { _ in 0 }
        #expect(abs(Self.ours(uncorrected, normalize: false).loss - Self.ours(c, normalize: false).loss) > 1e-3)
        #expect(
            abs(Self.referenceLoss(uncorrected, s: c.s, e: c.e, normalize: false) - Self.ours(uncorrected, normalize: false).loss) < 1e-5)
    }

    /// One session whose candidates are its target then every item once, uncorrected: the hit of
    /// the target among the items is masked, so the objective is the full softmax's.
    @Test func everyItemOnceIsTheFullSoftmax() {
        var c = Self.example()
        c.b = 1
        c.s = Array(c.s[0..<c.d])
        c.candidates = [4] + (1...Int32(c.rows - 1)).map { $0 }
        c.logQ = c.candidates.map { _ in 0 }
        let scores = (1..<c.rows).map { item in (0..<c.d).reduce(0.0) { $0 + c.s[$1] * c.e[item * c.d + $1] } }
        let maximum = scores.max()!
        let full = log(scores.reduce(0) { $0 + exp($1 - maximum) }) + maximum - scores[3]
        #expect(abs(Self.ours(c, normalize: false).loss - full) < 1e-5)
    }

    /// Draws follow q ∝ count^α; α = 0 is uniform; log Q = log(B p + N q).
    @Test func samplerDrawsFromPopularityToTheAlpha() {
        let counts = [50, 0, 10, 200, 40, 1]
        let sampler = NegativeSampler(counts: counts, alpha: 0.75)
        let weights = counts.map { pow(Double($0), 0.75) }, total = weights.reduce(0, +)
        var generator = SeededGenerator(seed: 4)
        var seen = [Int](repeating: 0, count: counts.count)
        let draws = 400_000
        for _ in 0..<draws { seen[Int(sampler.draw(using: &generator)) - 1] += 1 }
        for j in counts.indices {
            let q = weights[j] / total
            #expect(abs(sampler.probabilities[j] - q) < 1e-12)
            // Five binomial standard deviations.
            #expect(abs(Double(seen[j]) / Double(draws) - q) <= 5 * (q * (1 - q) / Double(draws)).squareRoot() + 1e-9, "item \(j + 1)")
        }
        #expect(seen[1] == 0, "an item never a target is never drawn for α > 0")
        let uniform = NegativeSampler(counts: counts, alpha: 0)
        #expect(uniform.probabilities.allSatisfy { abs($0 - 1 / 6) < 1e-12 })
        let expected = log(32 * 200.0 / 301 + 2048 * weights[3] / total)
        #expect(abs(Double(sampler.logExpectedCount(of: 4, batchSize: 32, negatives: 2048)) - expected) < 1e-5)
    }
}
