import Foundation
import SessionData
import TensorCore

/// The attention readout (the reference's `compute_scores` before the product with `E`): from the
/// node states `[N, d]` to one session embedding `s_h` per session `[B, d]`.
///
///     H_i = node state of click i,  h_t = H_last                       (gather, [P, d])
///     σ_i = σ(W_1 h_t + b_1 + W_2 H_i + c)                             ([P, d])
///     α_i = q · σ_i                                                    (no softmax, as the reference)
///     a_i = α_i, or softmax_i(α) over the session's clicks (NISER+ as its authors' code runs it)
///     s_g = Σ_i a_i H_i
///     s_h = W_3 [s_g | h_t] + b_3   (hybrid)      or   s_h = s_g   (nonhybrid)
///
/// Backward, from `ds_h`:
///
///     d[s_g | h_t] = ds_h W_3,  dW_3 += ds_h^T [s_g | h_t],  db_3 += Σ ds_h   (nonhybrid: ds_g = ds_h)
///     da_i = ds_g · H_i                    dH_i  = a_i ds_g + dpre_i W_2
///     dα_i = da_i, or a_i (da_i − Σ_k a_k da_k) (softmax)
///     dpre_i = dα_i q ⊙ σ_i (1 − σ_i)      dq   += Σ_i dα_i σ_i
///     dW_2 += Σ_i dpre_i^T H_i   dc += Σ_i dpre_i
///     dq1 = Σ_i dpre_i  (per session)      dW_1 += dq1^T h_t,  db_1 += Σ dq1,  dh_t += dq1 W_1
///     dnodes[node(i)] += dH_i              (scatter of the gather)
///
/// NISER+ adds its position embedding to `H` right after the gather (`positions`), so `h_t`, α
/// and s_g all see it; its backward runs on `dH` before the scatter.
struct AttentionReadout {
    let hiddenSize: Int
    let nonhybrid: Bool
    /// The instruction set of the readout's products and loops.
    let path: KernelPath
    var positions: PositionEmbedding? = nil
    /// a = softmax(α) per session instead of a = α.
    var usesSoftmax = false

    /// Writes `s_h` to `workspace.sessionEmbedding` and keeps `H` (`clickStates`), `σ`
    /// (`attentionSigmoid`), `a` (`attentionCoefficients`) and `[s_g | h_t]` (`readout`) for `backward`.
    func forward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        nodeStates: UnsafePointer<Float>, workspace ws: SRGNNWorkspace, threads: Int
    ) -> UnsafeMutablePointer<Float> {
        let d = hiddenSize, p = batch.positionCount, b = batch.sessionCount
        let clickStates = ws.clickStates.pointer(p * d)
        // readout rows hold [s_g | h_t]; h_t is copied first so that W_1 h_t can read it.
        let readout = ws.readout.pointer(b * 2 * d), lastQuery = ws.lastQuery.pointer(b * d)
        let sigmoids = ws.attentionSigmoid.pointer(p * d), alpha = ws.attentionCoefficients.pointer(p)
        let sessionEmbedding = ws.sessionEmbedding.pointer(b * d)
        // Each worker takes whole sessions, their clicks and their rows of every product: nothing
        // it reads was written on the other core.
        batch.positionNodes.withUnsafeBufferPointer { positionNodes in
            batch.positionOffsets.withUnsafeBufferPointer { offsets in
                batch.forEachSessionShare(threads: threads, balancing: \.positionOffsets) { sessions in
                    let shareClicks = Int(offsets[sessions.lowerBound])..<Int(offsets[sessions.upperBound])
                    let s0 = sessions.lowerBound, count = sessions.count
                    gatherRows(
                        nodeStates, width: d, indices: UnsafeBufferPointer(rebasing: positionNodes[shareClicks]),
                        into: clickStates + shareClicks.lowerBound * d)
                    positions?.forward(batch, sessions: sessions, table: w.reversePositionEmbedding, clickStates: clickStates)
                    for s in sessions {
                        (readout + s * 2 * d + d).update(from: clickStates + batch.lastPosition(of: s) * d, count: d)
                    }
                    gemm(
                        .none, .transposed, m: count, n: d, k: d, readout + s0 * 2 * d + d, lda: 2 * d, w.attentionLastWeight, ldb: d,
                        lastQuery + s0 * d, ldc: d, path: path)
                    addBias(lastQuery + s0 * d, rows: count, width: d, w.attentionLastBias, path: path)
                    gemm(
                        .none, .transposed, m: shareClicks.count, n: d, k: d, clickStates + shareClicks.lowerBound * d, lda: d,
                        w.attentionItemWeight, ldb: d, sigmoids + shareClicks.lowerBound * d, ldc: d, path: path)
                    for s in sessions {
                        let q1 = lastQuery + s * d
                        let global = readout + s * 2 * d
                        let clicks = Int(offsets[s])..<Int(offsets[s + 1])
                        for i in clicks {
                            alpha[i] = attentionActivation(
                                query: q1, row: sigmoids + i * d, bias: w.attentionItemBias,
                                vector: w.attentionVector, width: d, path: path)
                        }
                        if usesSoftmax { Self.softmax(alpha, clicks) }
                        for j in 0..<d { global[j] = 0 }
                        for i in clicks {
                            let hRow = clickStates + i * d, coefficient = alpha[i]
                            for j in 0..<d { global[j] += coefficient * hRow[j] }
                        }
                    }
                    if nonhybrid {
                        for s in sessions { (sessionEmbedding + s * d).update(from: readout + s * 2 * d, count: d) }
                    } else {
                        gemm(
                            .none, .transposed, m: count, n: d, k: 2 * d, readout + s0 * 2 * d, lda: 2 * d, w.hybridWeight, ldb: 2 * d,
                            sessionEmbedding + s0 * d, ldc: d, path: path)
                        addBias(sessionEmbedding + s0 * d, rows: count, width: d, w.hybridBias, path: path)
                    }
                }
            }
        }
        return sessionEmbedding
    }

    /// Backward of `forward`: from `dSessionEmbedding` `[B, d]` to `dNodeStates` `[N, d]`
    /// (overwritten), adding the readout weights' gradients into `g`.
    func backward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        gradient g: ParameterPointers<UnsafeMutablePointer<Float>>,
        dSessionEmbedding: UnsafePointer<Float>, dNodeStates: UnsafeMutablePointer<Float>,
        workspace ws: SRGNNWorkspace, threads: Int
    ) {
        let d = hiddenSize, n = batch.nodeCount, p = batch.positionCount, b = batch.sessionCount
        // s_h = W_3 [s_g | h_t] + b_3 (hybrid) or s_g.
        let dReadout = ws.dReadout.pointer(b * 2 * d)
        let readout = ws.readout.pointer(b * 2 * d)
        if nonhybrid {
            for s in 0..<b {
                (dReadout + s * 2 * d).update(from: dSessionEmbedding + s * d, count: d)
                (dReadout + s * 2 * d + d).update(repeating: 0, count: d)
            }
        } else {
            // The input gradient on one worker, the weight gradient on the other (as in the cell).
            parallelPair(threads: threads, work: 2 * b * d * d) {
                gemm(
                    .none, .none, m: b, n: 2 * d, k: d, dSessionEmbedding, lda: d, w.hybridWeight, ldb: 2 * d,
                    dReadout, ldc: 2 * d, path: path)
            } _: {
                gemm(
                    .transposed, .none, m: d, n: 2 * d, k: b, dSessionEmbedding, lda: d, readout, ldb: 2 * d,
                    beta: 1, g.hybridWeight, ldc: 2 * d, path: path)
                addColumnSums(dSessionEmbedding, rows: b, width: d, into: g.hybridBias, path: path)
            }
        }
        // s_g = Σ_i α_i H_i,  α_i = q · σ_i,  σ_i = σ(q1 + q2_i).
        let clickStates = ws.clickStates.pointer(p * d), sigmoids = ws.attentionSigmoid.pointer(p * d)
        let alpha = ws.attentionCoefficients.pointer(p)
        let dClickStates = ws.dClickStates.pointer(p * d)
        let dPre = ws.dAttentionPre.pointer(p * d)  // ∂/∂(q1 + q2_i + c)
        let dLastQuery = ws.dLastQuery.pointer(b * d)
        let dAlpha = ws.dAttentionCoefficients.pointer(p)
        batch.positionOffsets.withUnsafeBufferPointer { offsets in
            // Sessions own disjoint positions and rows, so they run in parallel.
            batch.forEachSessionShare(threads: threads, balancing: \.positionOffsets) { sessions in
                let shareClicks = Int(offsets[sessions.lowerBound])..<Int(offsets[sessions.upperBound])
                (dClickStates + shareClicks.lowerBound * d).update(repeating: 0, count: shareClicks.count * d)
                (dLastQuery + sessions.lowerBound * d).update(repeating: 0, count: sessions.count * d)
                for s in sessions {
                    let dGlobal = dReadout + s * 2 * d, dq1 = dLastQuery + s * d
                    let clicks = Int(offsets[s])..<Int(offsets[s + 1])
                    for i in clicks {
                        dAlpha[i] = attentionClickBackward(
                            dGlobal: dGlobal, clickState: clickStates + i * d, coefficient: alpha[i],
                            adding: dClickStates + i * d, width: d, path: path)
                    }
                    if usesSoftmax { Self.softmaxBackward(dAlpha, softmax: alpha, clicks) }
                    for i in clicks {
                        attentionPreBackward(
                            dCoefficient: dAlpha[i], vector: w.attentionVector, sigmoid: sigmoids + i * d,
                            into: dPre + i * d, adding: dq1, width: d, path: path)
                    }
                }
            }
        }
        // q2 = H W_2^T + c and q1 = h_t W_1^T + b_1 (h_t lives in readout[:, d...], its gradient in
        // dReadout[:, d...]): the input gradients on one worker, the weight gradients on the other.
        parallelPair(threads: threads, work: (p + b) * d * d) {
            gemm(.none, .none, m: p, n: d, k: d, dPre, lda: d, w.attentionItemWeight, ldb: d, beta: 1, dClickStates, ldc: d, path: path)
            gemm(
                .none, .none, m: b, n: d, k: d, dLastQuery, lda: d, w.attentionLastWeight, ldb: d, beta: 1, dReadout + d, ldc: 2 * d,
                path: path)
        } _: {
            // dq += Σ_i dα_i σ_i, a [1, P] × [P, d] product.
            gemm(.none, .none, m: 1, n: d, k: p, dAlpha, lda: p, sigmoids, ldb: d, beta: 1, g.attentionVector, ldc: d, path: path)
            gemm(
                .transposed, .none, m: d, n: d, k: p, dPre, lda: d, clickStates, ldb: d, beta: 1, g.attentionItemWeight, ldc: d,
                path: path)
            addColumnSums(dPre, rows: p, width: d, into: g.attentionItemBias, path: path)
            gemm(
                .transposed, .none, m: d, n: d, k: b, dLastQuery, lda: d, readout + d, ldb: 2 * d, beta: 1, g.attentionLastWeight,
                ldc: d, path: path)
            addColumnSums(dLastQuery, rows: b, width: d, into: g.attentionLastBias, path: path)
        }
        for s in 0..<b {
            let target = dClickStates + batch.lastPosition(of: s) * d, source = dReadout + s * 2 * d + d
            for j in 0..<d { target[j] += source[j] }
        }
        // H = nodeStates[positionNodes] (+ P[position])
        positions?.backward(batch, dClickStates: dClickStates, dTable: g.reversePositionEmbedding)
        dNodeStates.update(repeating: 0, count: n * d)
        batch.positionNodes.withUnsafeBufferPointer { scatterAddRows(dClickStates, width: d, indices: $0, into: dNodeStates, path: path) }
    }

    /// a_i = exp(α_i − max α) / Σ_k exp(α_k − max α) over `clicks`, in place.
    static func softmax(_ alpha: UnsafeMutablePointer<Float>, _ clicks: Range<Int>) {
        var maximum = -Float.infinity
        for i in clicks { maximum = max(maximum, alpha[i]) }
        var sum: Float = 0
        for i in clicks {
            alpha[i] = exp(alpha[i] - maximum)
            sum += alpha[i]
        }
        for i in clicks { alpha[i] /= sum }
    }

    /// dα_i = a_i (da_i − Σ_k a_k da_k) over `clicks`, in place on `da`.
    static func softmaxBackward(_ da: UnsafeMutablePointer<Float>, softmax a: UnsafePointer<Float>, _ clicks: Range<Int>) {
        var projection: Float = 0
        for i in clicks { projection += a[i] * da[i] }
        for i in clicks { da[i] = a[i] * (da[i] - projection) }
    }
}
