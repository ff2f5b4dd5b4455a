import Foundation
import TensorCore

/// Negative items for sampled-softmax training, drawn with replacement from `q_j ∝ count_j^α` by
/// Walker's alias method (Vose's construction): O(1) a draw, O(items) to build. `count_j` is how
/// often item `j` is a training target; α = 0 draws uniformly, α = 1 as the targets occur.
public struct NegativeSampler: Sendable {
    public let alpha: Double
    /// `q_j`, item `j` at index `j − 1`.
    public let probabilities: [Double]
    /// `p_j = count_j / Σ count`: how likely item `j` is any one target of a batch.
    public let targetShares: [Double]
    /// The alias table: column `i` keeps item `i + 1` with probability `keep[i]`, else `alias[i]`.
    private let keep: [Double]
    private let alias: [Int32]

    public init(counts: [Int], alpha: Double) {
        precondition(!counts.isEmpty, "a sampler needs at least one item")
        precondition(alpha >= 0 && alpha.isFinite, "alpha must be a finite number ≥ 0")
        self.alpha = alpha
        let n = counts.count
        var weights = counts.map { alpha == 0 ? 1.0 : pow(Double($0), alpha) }
        var total = weights.reduce(0, +)
        if total <= 0 {  // no targets counted: uniform
            weights = [Double](repeating: 1, count: n)
            total = Double(n)
        }
        probabilities = weights.map { $0 / total }
        let countTotal = Double(counts.reduce(0, +))
        targetShares = countTotal > 0 ? counts.map { Double($0) / countTotal } : [Double](repeating: 1 / Double(n), count: n)
        var keep = [Double](repeating: 1, count: n), alias = [Int32](repeating: 0, count: n)
        var scaled = probabilities.map { $0 * Double(n) }
        var small = [Int](), large = [Int]()
        for i in 0..<n { if scaled[i] < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.last, let l = large.last {
            small.removeLast()
            keep[s] = scaled[s]
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // Left over (rounding): keep themselves.
        for i in small + large { keep[i] = 1 }
        self.keep = keep
        self.alias = alias
    }

    public var itemCount: Int { probabilities.count }

    /// One item id (1...itemCount) drawn from `q`.
    @inline(__always) public func draw(using generator: inout SeededGenerator) -> Int32 {
        let column = Int(generator.next() % UInt64(keep.count))
        let u = Double(generator.next() >> 11) / Double(1 << 53)
        return u < keep[column] ? Int32(column + 1) : alias[column] + 1
    }

    /// `log Q_j = log(B p_j + N q_j)`, the expected number of times item `j` is among a batch's
    /// candidates (its `B` targets and `N` draws): the log-Q correction subtracted from its logit.
    public func logExpectedCount(of item: Int32, batchSize: Int, negatives: Int) -> Float {
        let j = Int(item) - 1
        return Float(log(Double(batchSize) * targetShares[j] + Double(negatives) * probabilities[j]))
    }
}

/// Scratch of one sampled-softmax pass, kept between steps.
public final class SampledSoftmaxWorkspace: @unchecked Sendable {
    /// `[C, d]` the candidates' rows (NISER: normalised), and their reciprocal norms `[C]`.
    var candidateRows: [Float] = []
    var reciprocalNorms: [Float] = []
    /// `[B, C]` scores, then softmax probabilities (masked columns 0).
    var probabilities: [Float] = []
    /// `[C, d]` ∂L/∂(candidate rows).
    var dCandidateRows: [Float] = []

    public init() {}

    func prepare(batch b: Int, candidates c: Int, hiddenSize d: Int) {
        if candidateRows.count < c * d { candidateRows = [Float](repeating: 0, count: c * d) }
        if dCandidateRows.count < c * d { dCandidateRows = [Float](repeating: 0, count: c * d) }
        if reciprocalNorms.count < c { reciprocalNorms = [Float](repeating: 0, count: c) }
        if probabilities.count < b * c { probabilities = [Float](repeating: 0, count: b * c) }
    }
}

/// The sampled softmax of a batch (Jean et al. 2015, with the log-Q correction of Yi et al. 2019
/// and TensorFlow's `sampled_softmax_loss`): row `b` scores the candidates `c` — the batch's `B`
/// targets, then `N` negatives shared by the batch — instead of every item:
///
///     z_bc = s_b · e_c − log Q_c                (NISER: e_c normalised, s_b = σ ŝ_b)
///     L    = (1/B) Σ_b [ log Σ_{c ∉ H_b} e^{z_bc} − z_bb ]
///
/// `Q_c` is the candidate's expected count (`NegativeSampler.logExpectedCount`), and
/// `H_b = {c ≠ b : item_c = t_b}` the accidental hits: another copy of `b`'s target is masked, not
/// counted as a negative. A step then costs O((B + N) · d) per session instead of O(items · d).
///
///     backward:  dz_bc = (softmax_b(z)_c − [c = b]) / B     (0 on H_b)
///                ds_b = Σ_c dz_bc e_c,   de_c = Σ_b dz_bc s_b
public struct SampledSoftmax {
    public let hiddenSize: Int
    /// Candidate rows are normalised (NISER), and their gradient goes through the normalisation.
    public let normalize: Bool
    public let path: KernelPath

    public init(hiddenSize: Int, normalize: Bool, path: KernelPath) {
        (self.hiddenSize, self.normalize, self.path) = (hiddenSize, normalize, path)
    }

    /// The summed loss `Σ_b [...]` (the caller divides by B) of the sessions `s` `[B, d]` whose
    /// targets are `candidates[0..<B]`; `candidates[B...]` are the negatives, `logCorrection[c]`
    /// is `log Q_c`. Keeps the probabilities in `ws` for `backward`.
    public func loss(
        sessionEmbedding s: UnsafePointer<Float>, batchSize b: Int, candidates: UnsafeBufferPointer<Int32>,
        logCorrection: UnsafePointer<Float>, embedding: UnsafePointer<Float>, workspace ws: SampledSoftmaxWorkspace
    ) -> Double {
        let d = hiddenSize, c = candidates.count
        precondition(c >= b, "the candidates start with the batch's targets")
        ws.prepare(batch: b, candidates: c, hiddenSize: d)
        var total = 0.0
        ws.candidateRows.withUnsafeMutableBufferPointer { rows in
            gatherRows(embedding, width: d, indices: candidates, into: rows.baseAddress!)
            if normalize {
                ws.reciprocalNorms.withUnsafeMutableBufferPointer { norms in
                    normalizeRows(
                        rows.baseAddress!, rows: c, width: d, into: rows.baseAddress!, reciprocalNorms: norms.baseAddress!, path: path)
                }
            }
            ws.probabilities.withUnsafeMutableBufferPointer { z in
                let z = z.baseAddress!
                gemm(.none, .transposed, m: b, n: c, k: d, s, lda: d, rows.baseAddress!, ldb: d, z, ldc: c, path: path)
                for row in 0..<b {
                    let zRow = z + row * c, target = candidates[row]
                    for column in 0..<c { zRow[column] -= logCorrection[column] }
                    let positive = zRow[row]
                    // Accidental hits weigh nothing: pushed below every logit, then zeroed after the
                    // (vectorised) exponentials, which clamp far below e^0 rather than reach 0.
                    for column in 0..<c where column != row && candidates[column] == target { zRow[column] = -.infinity }
                    var maximum: Float = 0
                    var sum = expShiftSum(zRow, count: c, maximum: &maximum, path: path)
                    for column in 0..<c where column != row && candidates[column] == target {
                        sum -= zRow[column]
                        zRow[column] = 0
                    }
                    let scale = 1 / sum
                    for column in 0..<c { zRow[column] *= scale }
                    total += Double(log(sum)) + Double(maximum) - Double(positive)
                }
            }
        }
        return total
    }

    /// Backward of `loss` (after it, on the same workspace): `dSessionEmbedding` `[B, d]` written,
    /// and candidate `c`'s row gradient (through the normalisation for NISER) added to row
    /// `rowIndices[c]` of `dRows` (the embedding gradient with `rowIndices` = the candidates, or a
    /// compact one; copies of one item add up). `lossScale` is the 1/B of the mean.
    public func backward(
        sessionEmbedding s: UnsafePointer<Float>, batchSize b: Int, candidates: UnsafeBufferPointer<Int32>,
        lossScale: Float, workspace ws: SampledSoftmaxWorkspace, dSessionEmbedding ds: UnsafeMutablePointer<Float>,
        dRows dTable: UnsafeMutablePointer<Float>, rowIndices: UnsafeBufferPointer<Int32>
    ) {
        precondition(rowIndices.count == candidates.count, "one row index per candidate")
        let d = hiddenSize, c = candidates.count
        ws.probabilities.withUnsafeMutableBufferPointer { p in
            let dz = p.baseAddress!
            // dz = (softmax − onehot) / B, in place of the probabilities.
            for row in 0..<b {
                for column in 0..<c { dz[row * c + column] *= lossScale }
                dz[row * c + row] -= lossScale
            }
            ws.candidateRows.withUnsafeBufferPointer { rows in
                gemm(.none, .none, m: b, n: d, k: c, UnsafePointer(dz), lda: c, rows.baseAddress!, ldb: d, ds, ldc: d, path: path)
                ws.dCandidateRows.withUnsafeMutableBufferPointer { dRows in
                    gemm(.transposed, .none, m: c, n: d, k: b, UnsafePointer(dz), lda: c, s, ldb: d, dRows.baseAddress!, ldc: d, path: path)
                    if normalize {
                        ws.reciprocalNorms.withUnsafeBufferPointer { norms in
                            normalizeRowsBackward(
                                dRows.baseAddress!, normalized: rows.baseAddress!, reciprocalNorms: norms.baseAddress!, rows: c,
                                width: d, into: dRows.baseAddress!, accumulate: false, path: path)
                        }
                    }
                    scatterAddRows(dRows.baseAddress!, width: d, indices: rowIndices, into: dTable, path: path)
                }
            }
        }
    }
}
