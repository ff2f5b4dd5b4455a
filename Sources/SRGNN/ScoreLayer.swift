import CKernels
import Foundation

extension SRGNNNetwork {
    /// The scoring layer and the loss, forward and backward together, tile by tile:
    ///
    ///     scores = s_h · E[1...]^T                        [B, I]
    ///     loss   = Σ_b logsumexp(scores_b) − scores_b[t_b]   (returned; the caller divides by B)
    ///     dS     = (softmax(scores) − onehot(t)) / B       (in place of the scores)
    ///     dE[1...] (+)= dS^T · s_h        ds_h = dS · E[1...]
    ///
    /// Items are cut into tiles of `tileItems` columns that workers take in turn. Pass 1 computes a
    /// tile's scores and, while they are in cache, `e^(x − m_tile)` and its row sums; the rows' maxima
    /// and sums are then combined (`logsumexp = M + log Σ_tiles sum·e^(m_tile − M)`); pass 2 rescales
    /// each tile into `dS` and at once runs the two backward products on it. Together this reads
    /// the `[B, I]` matrix from memory once instead of five times.
    ///
    /// With an `update` (the training step), a tile's `dE` rows go to a per-worker buffer and are
    /// handed to `update` at once, while they and the tile's weights are in cache — except the rows
    /// of `deferred` items, which the graph network's backward still adds to: those are copied to
    /// `g.embedding` for the caller to update later. Nothing reads a tile's weights after pass 2
    /// has used them, so updating them in place is safe.
    func scoreLayer(sessionEmbedding: UnsafeMutablePointer<Float>, targets: UnsafeBufferPointer<Int32>, batchSize b: Int,
                    weights w: ParameterPointers<UnsafePointer<Float>>, gradient g: ParameterPointers<UnsafeMutablePointer<Float>>,
                    accumulate: Bool, workspace ws: SRGNNWorkspace, threads: Int, tileItems: Int = 2_048,
                    update: EmbeddingRowUpdate? = nil, deferred: UnsafePointer<Bool>? = nil) -> Double {
        let d = configuration.hiddenSize, items = configuration.itemCount
        let tiles = (items + tileItems - 1) / tileItems
        let workers = max(1, min(threads, tiles))
        let scores = ws.scores.reserve(b * items)
        let tileMaxima = ws.tileMaxima.reserve(tiles * b), tileSums = ws.tileSums.reserve(tiles * b)
        let targetLogits = ws.targetLogits.reserve(b)
        let partials = ws.sessionEmbeddingPartials.zeroed(workers * b * d)
        let tileGradients = update == nil ? nil : ws.tileGradients.reserve(workers * tileItems * d)
        let scale = 1 / Float(b)

        // Pass 1: scores, shifted exponentials and their sums, per tile.
        parallelFor(workers, threads: workers) { worker in
            var tile = worker
            while tile < tiles {
                let first = tile * tileItems, width = min(tileItems, items - first)
                let block = scores + first
                gemm(.none, .transposed, m: b, n: width, k: d, sessionEmbedding, lda: d, w.embedding + (first + 1) * d, ldb: d,
                     block, ldc: items)
                for row in 0..<b {
                    let values = block + row * items
                    let column = Int(targets[row]) - 1 - first
                    if column >= 0 && column < width { targetLogits[row] = values[column] }
                    var maximum: Float = 0
                    tileSums[tile * b + row] = srgnn_exp_shift_sum(values, Int64(width), &maximum)
                    tileMaxima[tile * b + row] = maximum
                }
                tile += workers
            }
        }
        // Combine: each row's log-sum-exp; tile maxima become the factors that turn e^(x − m_tile) into dS.
        var total = 0.0
        for row in 0..<b {
            var maximum = -Float.infinity
            for tile in 0..<tiles { maximum = max(maximum, tileMaxima[tile * b + row]) }
            var sum: Float = 0
            for tile in 0..<tiles { sum += tileSums[tile * b + row] * expf(tileMaxima[tile * b + row] - maximum) }
            total += Double(logf(sum)) - Double(targetLogits[row] - maximum)
            for tile in 0..<tiles { tileMaxima[tile * b + row] = expf(tileMaxima[tile * b + row] - maximum) / sum * scale }
        }
        // Pass 2: dS per tile, then its share of dE and ds_h while it is in cache.
        parallelFor(workers, threads: workers) { worker in
            var tile = worker
            let partial = partials + worker * b * d
            while tile < tiles {
                let first = tile * tileItems, width = min(tileItems, items - first)
                let block = scores + first
                for row in 0..<b {
                    let values = block + row * items
                    srgnn_scale(values, Int64(width), tileMaxima[tile * b + row])
                    let column = Int(targets[row]) - 1 - first
                    if column >= 0 && column < width { values[column] -= scale }
                }
                let tileGradient = tileGradients.map { $0 + worker * tileItems * d } ?? g.embedding + (first + 1) * d
                gemm(.transposed, .none, m: width, n: d, k: b, block, lda: items, sessionEmbedding, ldb: d,
                     beta: accumulate ? 1 : 0, tileGradient, ldc: d)
                gemm(.none, .none, m: b, n: d, k: width, block, lda: items, w.embedding + (first + 1) * d, ldb: d,
                     beta: 1, partial, ldc: d)
                if let update {
                    // Runs of rows that nothing else adds to are updated now; deferred rows wait.
                    var start = 0
                    while start < width {
                        var end = start
                        while end < width && !(deferred?[first + 1 + end] ?? false) { end += 1 }
                        if end > start {
                            let row = first + 1 + start
                            update(row..<(first + 1 + end), UnsafeMutablePointer(mutating: w.embedding + row * d),
                                   tileGradient + start * d)
                        }
                        if end < width {
                            (g.embedding + (first + 1 + end) * d).update(from: tileGradient + end * d, count: d)
                        }
                        start = end + 1
                    }
                }
                tile += workers
            }
        }
        let dSessionEmbedding = ws.dSessionEmbedding.reserve(b * d)
        dSessionEmbedding.update(from: partials, count: b * d)
        for worker in 1..<max(workers, 1) {
            let partial = partials + worker * b * d
            for i in 0..<(b * d) { dSessionEmbedding[i] += partial[i] }
        }
        return total
    }
}
