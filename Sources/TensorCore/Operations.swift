import Foundation

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
/// For row `b` with target class `t_b`: `loss_b = logsumexp(x_b) − x_b[t_b]`. On return
/// `logits` holds `∂(scale · Σ_b loss_b)/∂x = scale · (softmax(x_b) − onehot(t_b))`.
/// Returns `Σ_b loss_b` (accumulated in Double). Rows are spread over `threads` workers.
public func softmaxCrossEntropyInPlace(
    _ logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int? = nil,
    targets: UnsafeBufferPointer<Int32>, scale: Float, threads: Int = 1
) -> Double {
    let ld = stride ?? classes
    precondition(targets.count >= rows)
    var losses = [Double](repeating: 0, count: rows)
    losses.withUnsafeMutableBufferPointer { lossBuffer in
        let lossPointer = lossBuffer.baseAddress!
        parallelFor(rows, threads: threads) { b in
            let x = logits + b * ld
            var maximum = -Float.infinity
            for j in 0..<classes where x[j] > maximum { maximum = x[j] }
            var sum: Float = 0
            for j in 0..<classes {
                let e = expf(x[j] - maximum)
                x[j] = e
                sum += e
            }
            let target = Int(targets[b])
            precondition(target >= 0 && target < classes, "target \(target) outside 0..<\(classes)")
            let probabilityOfTarget = x[target] / sum
            lossPointer[b] = -Double(logf(max(probabilityOfTarget, .leastNormalMagnitude)))
            // Use log-sum-exp form for accuracy when the target probability underflows.
            if probabilityOfTarget < 1e-30 {
                lossPointer[b] = Double(logf(sum)) - Double(logf(max(x[target], .leastNonzeroMagnitude)))
            }
            let inverse = scale / sum
            for j in 0..<classes { x[j] *= inverse }
            x[target] -= scale
        }
    }
    return losses.reduce(0, +)
}

/// Indices of the `k` largest values of `values[0..<count]`, best first; ties go to the lower index.
public func topK(_ values: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
    let k = min(k, count)
    if k <= 0 { return [] }
    // A small sorted buffer (insertion) beats a full sort when k ≪ count.
    var bestIndices = [Int](); bestIndices.reserveCapacity(k + 1)
    var bestValues = [Float](); bestValues.reserveCapacity(k + 1)
    for j in 0..<count {
        let v = values[j]
        if bestValues.count == k {
            let worst = bestValues[k - 1]
            if !(v > worst) { continue }
        }
        var position = bestValues.count
        while position > 0 && v > bestValues[position - 1] { position -= 1 }
        bestValues.insert(v, at: position)
        bestIndices.insert(j, at: position)
        if bestValues.count > k { bestValues.removeLast(); bestIndices.removeLast() }
    }
    return bestIndices
}
