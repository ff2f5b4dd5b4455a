import Foundation
import SessionData
import TensorCore

/// One propagation step of the gated graph network (the reference's `GNNCell`), hidden `h` `[N, d]`
/// → next `h'` `[N, d]` over the batch's stacked session graphs:
///
///     x_in  = h W_in^T + b_in                      x_out = h W_out^T + b_out
///     a_in  = A_in · x_in + b_iah                  a_out = A_out · x_out + b_oah
///     gi = [a_in | a_out] W_ih^T + b_ih            gh = h W_hh^T + b_hh
///     r = σ(gi_r + gh_r)    z = σ(gi_z + gh_z)    c = tanh(gi_c + r ⊙ gh_c)
///     h' = c + z ⊙ (h − c)
///
/// The forward pass keeps `[a_in | a_out]` `[N, 2d]` and `(r, z, c, gh_c)` `[N, 4d]` for the
/// backward pass. Backward, from `dh'` = ∂L/∂h':
///
///     dc = dh' ⊙ (1 − z)      dz = dh' ⊙ (h − c)      dh = dh' ⊙ z   (+ the paths below)
///     dc_pre = dc ⊙ (1 − c²)                   → dgi_c = dc_pre,   dgh_c = dc_pre ⊙ r
///     dr_pre = dc_pre ⊙ gh_c ⊙ r (1 − r)       → dgi_r = dgh_r = dr_pre
///     dz_pre = dz ⊙ z (1 − z)                  → dgi_z = dgh_z = dz_pre
///     dW_hh += dgh^T h    db_hh += Σ dgh    dh += dgh W_hh
///     dW_ih += dgi^T a    db_ih += Σ dgi    da = dgi W_ih
///     db_iah += Σ da_in   dx_in = A_in^T · da_in        (the same for out)
///     dW_in += dx_in^T h  db_in += Σ dx_in  dh += dx_in W_in   (the same for out)
struct GatedGraphCell {
    let hiddenSize: Int
    /// The instruction set of the cell's products and gate loops.
    let path: KernelPath

    /// Runs the cell: `next` ← h'. `aggregate` `[N, 2d]` and `gates` `[N, 4d]` receive what
    /// `backward` needs.
    func forward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        hidden h: UnsafePointer<Float>, next: UnsafeMutablePointer<Float>,
        aggregate a: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>,
        workspace ws: SRGNNWorkspace, threads: Int
    ) {
        let d = hiddenSize, n = batch.nodeCount
        let edgeIn = ws.edgeIn.pointer(n * d), edgeOut = ws.edgeOut.pointer(n * d)
        let gi = ws.inputGates.pointer(n * 3 * d), gh = ws.hiddenGates.pointer(n * 3 * d)
        // A node's aggregate reads x of its own session only, so each worker takes whole sessions
        // through every product and the gates: nothing a worker reads was written on the other core.
        batch.withAdjacency { incoming, outgoing in
            batch.forEachSessionShare(threads: threads) { sessions in
                let rows = batch.nodes(of: sessions), first = rows.lowerBound, m = rows.count, hRows = h + first * d
                gemm(.none, .transposed, m: m, n: d, k: d, hRows, lda: d, w.edgeInWeight, ldb: d, edgeIn + first * d, ldc: d, path: path)
                addBias(edgeIn + first * d, rows: m, width: d, w.edgeInBias, path: path)
                gemm(.none, .transposed, m: m, n: d, k: d, hRows, lda: d, w.edgeOutWeight, ldb: d, edgeOut + first * d, ldc: d, path: path)
                addBias(edgeOut + first * d, rows: m, width: d, w.edgeOutBias, path: path)
                gemm(
                    .none, .transposed, m: m, n: 3 * d, k: d, hRows, lda: d, w.hiddenWeight, ldb: d, gh + first * 3 * d, ldc: 3 * d,
                    path: path)
                incoming.propagate(edgeIn, into: a, rowStride: 2 * d, width: d, rows: rows)
                outgoing.propagate(edgeOut, into: a + d, rowStride: 2 * d, width: d, rows: rows)
                for v in rows {
                    let row = a + v * 2 * d
                    for j in 0..<d { row[j] += w.inAggregateBias[j]; row[d + j] += w.outAggregateBias[j] }
                }
                gemm(
                    .none, .transposed, m: m, n: 3 * d, k: 2 * d, a + first * 2 * d, lda: 2 * d, w.inputWeight, ldb: 2 * d,
                    gi + first * 3 * d, ldc: 3 * d, path: path)
                gruGates(
                    inputGates: gi + first * 3 * d, hiddenGates: gh + first * 3 * d, inputBias: w.inputBias,
                    hiddenBias: w.hiddenBias, hidden: hRows, rows: m, width: d,
                    next: next + first * d, gates: gates + first * 4 * d, path: path)
            }
        }
    }

    /// Backward of `forward`: from `dNext` = ∂L/∂h' to `dHidden` = ∂L/∂h (overwritten), adding every
    /// weight's gradient into `g`.
    func backward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        gradient g: ParameterPointers<UnsafeMutablePointer<Float>>,
        hidden h: UnsafePointer<Float>, aggregate a: UnsafePointer<Float>, gates: UnsafePointer<Float>,
        dNext: UnsafePointer<Float>, dHidden: UnsafeMutablePointer<Float>,
        workspace ws: SRGNNWorkspace, threads: Int
    ) {
        let d = hiddenSize, n = batch.nodeCount
        let dgi = ws.dInputGates.pointer(n * 3 * d), dgh = ws.dHiddenGates.pointer(n * 3 * d)
        parallelChunks(n, threads: threads, minimumPerThread: 128) { rows in
            let first = rows.lowerBound
            gruGatesBackward(
                gates: gates + first * 4 * d, hidden: h + first * d, dNext: dNext + first * d, rows: rows.count, width: d,
                dInputGates: dgi + first * 3 * d, dHiddenGates: dgh + first * 3 * d, dHidden: dHidden + first * d, path: path)
        }
        // gh = h W_hh^T + b_hh and gi = a W_ih^T + b_ih: the input gradients on one worker, the
        // weight gradients on the other (the same products, so each pair takes the same time).
        let da = ws.dAggregates.pointer(n * 2 * d)
        parallelPair(threads: threads, work: 9 * n * d * d) {
            gemm(.none, .none, m: n, n: d, k: 3 * d, dgh, lda: 3 * d, w.hiddenWeight, ldb: d, beta: 1, dHidden, ldc: d, path: path)
            gemm(.none, .none, m: n, n: 2 * d, k: 3 * d, dgi, lda: 3 * d, w.inputWeight, ldb: 2 * d, da, ldc: 2 * d, path: path)
        } _: {
            gemm(.transposed, .none, m: 3 * d, n: d, k: n, dgh, lda: 3 * d, h, ldb: d, beta: 1, g.hiddenWeight, ldc: d, path: path)
            addColumnSums(dgh, rows: n, width: 3 * d, into: g.hiddenBias, path: path)
            gemm(
                .transposed, .none, m: 3 * d, n: 2 * d, k: n, dgi, lda: 3 * d, a, ldb: 2 * d, beta: 1, g.inputWeight, ldc: 2 * d,
                path: path)
            addColumnSums(dgi, rows: n, width: 3 * d, into: g.inputBias, path: path)
        }
        // a_in = A_in x_in + b_iah,  a_out = A_out x_out + b_oah (the biases' gradients below)
        let dEdgeIn = ws.dEdgeIn.pointer(n * d), dEdgeOut = ws.dEdgeOut.pointer(n * d)
        batch.withAdjacency { incoming, outgoing in
            // Whole sessions per worker: their nodes, and so the scatter targets, are disjoint.
            batch.forEachSessionShare(threads: threads) { sessions in
                let rows = batch.nodes(of: sessions)
                (dEdgeIn + rows.lowerBound * d).update(repeating: 0, count: rows.count * d)
                (dEdgeOut + rows.lowerBound * d).update(repeating: 0, count: rows.count * d)
                incoming.propagateBackward(da, rowStride: 2 * d, into: dEdgeIn, width: d, rows: rows)
                outgoing.propagateBackward(da + d, rowStride: 2 * d, into: dEdgeOut, width: d, rows: rows)
            }
        }
        // x = h W^T + b for both directions, split the same way.
        parallelPair(threads: threads, work: 2 * n * d * d) {
            gemm(.none, .none, m: n, n: d, k: d, dEdgeIn, lda: d, w.edgeInWeight, ldb: d, beta: 1, dHidden, ldc: d, path: path)
            gemm(.none, .none, m: n, n: d, k: d, dEdgeOut, lda: d, w.edgeOutWeight, ldb: d, beta: 1, dHidden, ldc: d, path: path)
        } _: {
            addColumnSums(da, rows: n, width: d, stride: 2 * d, into: g.inAggregateBias, path: path)
            addColumnSums(da + d, rows: n, width: d, stride: 2 * d, into: g.outAggregateBias, path: path)
            gemm(.transposed, .none, m: d, n: d, k: n, dEdgeIn, lda: d, h, ldb: d, beta: 1, g.edgeInWeight, ldc: d, path: path)
            addColumnSums(dEdgeIn, rows: n, width: d, into: g.edgeInBias, path: path)
            gemm(.transposed, .none, m: d, n: d, k: n, dEdgeOut, lda: d, h, ldb: d, beta: 1, g.edgeOutWeight, ldc: d, path: path)
            addColumnSums(dEdgeOut, rows: n, width: d, into: g.edgeOutBias, path: path)
        }
    }
}

extension AdjacencyRows {
    /// Graph propagation `y[v, :] = Σ_u A[v][u] · x[u, :]` for the rows `v` in `rows` (each written once).
    func propagate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rowStride: Int, width: Int, rows: Range<Int>) {
        for v in rows {
            let row = y + v * rowStride
            for j in 0..<width { row[j] = 0 }
            for e in Int(offsets[v])..<Int(offsets[v + 1]) {
                let source = x + Int(neighbours[e]) * width, weight = weights[e]
                for j in 0..<width { row[j] += weight * source[j] }
            }
        }
    }

    /// Backward of `propagate`: `dx[u, :] += A[v][u] · dy[v, :]`. Rows of different sessions touch
    /// disjoint nodes, so callers may split `rows` at session boundaries across threads.
    func propagateBackward(_ dy: UnsafePointer<Float>, rowStride: Int, into dx: UnsafeMutablePointer<Float>, width: Int, rows: Range<Int>) {
        for v in rows {
            let row = dy + v * rowStride
            for e in Int(offsets[v])..<Int(offsets[v + 1]) {
                let target = dx + Int(neighbours[e]) * width, weight = weights[e]
                for j in 0..<width { target[j] += weight * row[j] }
            }
        }
    }
}
