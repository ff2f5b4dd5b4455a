import Foundation
import CKernels

/// Logistic sigmoid `σ(x) = 1 / (1 + e^(−x))`.
@inlinable public func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// `y[i, :] += bias` for every row of a `[rows, width]` matrix.
@inlinable
public func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: UnsafePointer<Float>) {
    for r in 0..<rows {
        let row = y + r * width
        for j in 0..<width { row[j] += bias[j] }
    }
}

/// Backward of `addBias`: `dBias += Σ_rows dy[row, :]`.
@inlinable
public func accumulateBiasGradient(_ dy: UnsafePointer<Float>, rows: Int, width: Int, stride: Int? = nil,
                                   into dBias: UnsafeMutablePointer<Float>) {
    let ld = stride ?? width
    for r in 0..<rows {
        let row = dy + r * ld
        for j in 0..<width { dBias[j] += row[j] }
    }
}

/// Row gather `out[i, :] = table[indices[i], :]` for a `[_, width]` table.
@inlinable
public func gatherRows(_ table: UnsafePointer<Float>, width: Int, indices: UnsafeBufferPointer<Int32>,
                       into out: UnsafeMutablePointer<Float>) {
    for (i, index) in indices.enumerated() {
        (out + i * width).update(from: table + Int(index) * width, count: width)
    }
}

/// Backward of `gatherRows`: `dTable[indices[i], :] += dOut[i, :]` (repeated indices add up).
@inlinable
public func scatterAddRows(_ dOut: UnsafePointer<Float>, width: Int, indices: UnsafeBufferPointer<Int32>,
                           into dTable: UnsafeMutablePointer<Float>) {
    for (i, index) in indices.enumerated() {
        let source = dOut + i * width
        let target = dTable + Int(index) * width
        for j in 0..<width { target[j] += source[j] }
    }
}

/// Fused log-softmax and cross-entropy over the rows of `logits` `[rows, classes]`, with the
/// gradient written in place.
///
/// For row `b` with target class `t_b`: `loss_b = log Σ_j e^(x_bj − m_b) − (x_b[t_b] − m_b)` with
/// `m_b = max_j x_bj`. On return `logits` holds `∂(scale · Σ_b loss_b)/∂x = scale · (softmax(x_b) − onehot(t_b))`.
/// Returns `Σ_b loss_b` (accumulated in Double). Rows are spread over `threads` workers; each row
/// is one vectorised C loop (`srgnn_softmax_xent_row`).
public func softmaxCrossEntropyInPlace(
    _ logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int? = nil,
    targets: UnsafeBufferPointer<Int32>, scale: Float, threads: Int = 1
) -> Double {
    let ld = stride ?? classes
    precondition(targets.count >= rows)
    for b in 0..<rows {
        precondition(targets[b] >= 0 && Int(targets[b]) < classes, "target \(targets[b]) outside 0..<\(classes)")
    }
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(rows, 1)) { losses in
        let lossPointer = losses.baseAddress!
        parallelFor(rows, threads: threads) { b in
            lossPointer[b] = srgnn_softmax_xent_row(logits + b * ld, Int64(classes), Int64(targets[b]), scale)
        }
        var total = 0.0
        for b in 0..<rows { total += lossPointer[b] }
        return total
    }
}

/// Number of `values[0..<count]` strictly greater than `threshold`: a target's rank minus one.
@inlinable
public func countGreater(_ values: UnsafePointer<Float>, count: Int, than threshold: Float) -> Int {
    Int(srgnn_count_greater(values, Int64(count), threshold))
}

/// Indices of the `k` largest values of `values[0..<count]`, best first; ties go to the lower index.
public func topK(_ values: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
    let k = min(k, count)
    if k <= 0 { return [] }
    return [Int](unsafeUninitializedCapacity: k) { buffer, initialized in
        buffer.withMemoryRebound(to: Int64.self) { indices in
            initialized = Int(srgnn_top_k(values, Int64(count), Int64(k), indices.baseAddress!))
        }
    }
}
