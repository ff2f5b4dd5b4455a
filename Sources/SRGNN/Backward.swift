import Foundation

/// What the training step does with finished rows of the embedding gradient: `rows` are embedding
/// row indices, `weights` and `gradient` point at the first of them (row-major, `d` per row).
/// It is called from several workers at once, always on disjoint rows.
public typealias EmbeddingRowUpdate = (_ rows: Range<Int>, _ weights: UnsafeMutablePointer<Float>,
                                       _ gradient: UnsafePointer<Float>) -> Void

extension SRGNNModel {
    /// Forward pass, mean cross-entropy against `batch.targets`, and the backward pass, whose
    /// gradients are *added* to `gradient` (zero it first for a fresh step). Returns the mean loss.
    ///
    /// With `accumulate: false` the gradient is *set* instead: the item-embedding product writes its
    /// rows directly (`beta = 0`) and only the small rest is zeroed, which spares a training step
    /// clearing 4.3 million floats at Diginetica size. `tileItems` sets the score layer's tiles.
    ///
    ///     loss = (1/B) Σ_b [logsumexp(scores_b) − scores_b[target_b − 1]]
    @discardableResult
    public func lossAndGradient(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, gradient: inout SRGNNParameters,
                                threads: Int = 1, accumulate: Bool = true, tileItems: Int = 2_048) -> Float {
        prepare(batch, gradient: &gradient, accumulate: accumulate)
        let network = self.network
        let total = parameters.withPointers { w in
            gradient.withMutablePointers { g in
                network.lossAndGradient(batch, weights: w, gradient: g, accumulate: accumulate, workspace: ws, threads: threads,
                                        tileItems: tileItems)
            }
        }
        return Float(total / Double(batch.sessionCount))
    }

    /// A training step's forward and backward with the embedding's optimizer update fused in:
    /// `update` receives every embedding row with its finished gradient — most of them inside the
    /// score layer, while the rows are in cache; row 0 and the batch's own items (which the graph
    /// network's backward adds to) at the end. The caller updates the other tensors from
    /// `gradient` afterwards; its embedding rows are valid only for row 0 and the batch's items.
    /// Returns the mean loss.
    public mutating func trainingStep(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, gradient: inout SRGNNParameters,
                                      threads: Int = 1, tileItems: Int = 2_048, update: EmbeddingRowUpdate) -> Float {
        prepare(batch, gradient: &gradient, accumulate: false)
        let network = self.network, d = configuration.hiddenSize
        if ws.deferredRows.count != configuration.embeddingRows {
            ws.deferredRows = [Bool](repeating: false, count: configuration.embeddingRows)
        }
        let total = parameters.withMutablePointers { theta in
            gradient.withMutablePointers { g in
                ws.deferredRows.withUnsafeMutableBufferPointer { deferred in
                    deferred[0] = true
                    for item in batch.nodeItems { deferred[Int(item)] = true }
                    // (An optional closure counts as escaping; this one does not outlive the call.)
                    let total = withoutActuallyEscaping(update) { update in
                        network.lossAndGradient(batch, weights: theta.readOnly, gradient: g, accumulate: false,
                                                workspace: ws, threads: threads, tileItems: tileItems,
                                                update: update, deferred: UnsafePointer(deferred.baseAddress!))
                    }
                    func flush(_ row: Int) {
                        guard deferred[row] else { return }
                        deferred[row] = false
                        update(row..<(row + 1), theta.embedding + row * d, g.embedding + row * d)
                    }
                    flush(0)
                    for item in batch.nodeItems { flush(Int(item)) }
                    return total
                }
            }
        }
        return Float(total / Double(batch.sessionCount))
    }

    private func prepare(_ batch: SessionBatch, gradient: inout SRGNNParameters, accumulate: Bool) {
        precondition(batch.targets.count == batch.sessionCount, "training needs one target per session")
        precondition(gradient.embeddingRows == parameters.embeddingRows && gradient.hiddenSize == parameters.hiddenSize)
        if !accumulate {
            // Everything but embedding rows 1... (which the score layer overwrites) starts at zero.
            let d = configuration.hiddenSize
            let embeddingEnd = gradient.range(of: .embedding).upperBound
            gradient.storage.withUnsafeMutableBufferPointer { storage in
                storage.baseAddress!.update(repeating: 0, count: d)
                (storage.baseAddress! + embeddingEnd).update(repeating: 0, count: storage.count - embeddingEnd)
            }
        }
    }
}

extension SRGNNNetwork {
    /// The loss summed over the batch, and its gradient (see `SRGNNModel.lossAndGradient`).
    /// Layers are walked in exactly the reverse order of the forward pass.
    func lossAndGradient(_ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
                         gradient g: ParameterPointers<UnsafeMutablePointer<Float>>, accumulate: Bool,
                         workspace ws: SRGNNWorkspace, threads: Int, tileItems: Int = 2_048,
                         update: EmbeddingRowUpdate? = nil, deferred: UnsafePointer<Bool>? = nil) -> Double {
        let d = configuration.hiddenSize, n = batch.nodeCount, p = batch.positionCount, b = batch.sessionCount
        let steps = configuration.step
        let sessionEmbedding = sessionEmbeddings(batch, weights: w, workspace: ws, threads: threads)
        let totalLoss = batch.targets.withUnsafeBufferPointer { targets in
            scoreLayer(sessionEmbedding: sessionEmbedding, targets: targets, batchSize: b, weights: w, gradient: g,
                       accumulate: accumulate, workspace: ws, threads: threads, tileItems: tileItems,
                       update: update, deferred: deferred)
        }
        let dSessionEmbedding = ws.dSessionEmbedding.pointer

        // s_h = W_3 [s_g | h_t] + b_3 (hybrid) or s_g.
        let dReadout = ws.dReadout.reserve(b * 2 * d)
        let readout = ws.readout.pointer
        if configuration.nonhybrid {
            for s in 0..<b {
                (dReadout + s * 2 * d).update(from: dSessionEmbedding + s * d, count: d)
                (dReadout + s * 2 * d + d).update(repeating: 0, count: d)
            }
        } else {
            gemm(.transposed, .none, m: d, n: 2 * d, k: b, dSessionEmbedding, lda: d, readout, ldb: 2 * d,
                 beta: 1, g.transformWeight, ldc: 2 * d, threads: threads)
            accumulateBiasGradient(dSessionEmbedding, rows: b, width: d, into: g.transformBias)
            gemm(.none, .none, m: b, n: 2 * d, k: d, dSessionEmbedding, lda: d, w.transformWeight, ldb: 2 * d,
                 dReadout, ldc: 2 * d, threads: threads)
        }

        // s_g = Σ_i α_i H_i,  α_i = w_3 · σ_i,  σ_i = σ(q1 + q2_i).
        let positions = ws.positions.pointer, attention = ws.attention.pointer
        let weights = ws.attentionWeights.pointer
        let dPositions = ws.dPositions.zeroed(p * d)
        let dAttention = ws.dAttention.reserve(p * d)  // ∂/∂(q1 + q2_i)
        let dQueryLast = ws.dQueryLast.zeroed(b * d)
        let dWeights = ws.dAttentionWeights.reserve(p)  // ∂/∂α_i
        batch.positionOffsets.withUnsafeBufferPointer { offsets in
            // Sessions own disjoint positions and rows, so they run in parallel.
            parallelFor(b, threads: threads, minimumPerThread: 32) { s in
                let dGlobal = dReadout + s * 2 * d
                let dq1 = dQueryLast + s * d
                for i in Int(offsets[s])..<Int(offsets[s + 1]) {
                    let hRow = positions + i * d, dhRow = dPositions + i * d
                    var dAlpha: Float = 0
                    for j in 0..<d {
                        dAlpha += dGlobal[j] * hRow[j]
                        dhRow[j] += weights[i] * dGlobal[j]
                    }
                    dWeights[i] = dAlpha
                    let sigma = attention + i * d, dPre = dAttention + i * d
                    for j in 0..<d {
                        let value = dAlpha * w.linearThreeWeight[j] * sigma[j] * (1 - sigma[j])
                        dPre[j] = value
                        dq1[j] += value
                    }
                }
            }
        }
        // w_3 gradient: Σ_i dα_i σ_i, a [1, P] × [P, d] product.
        gemm(.none, .none, m: 1, n: d, k: p, dWeights, lda: p, attention, ldb: d, beta: 1, g.linearThreeWeight, ldc: d, threads: threads)
        // q2 = H W_2^T + b_2
        gemm(.transposed, .none, m: d, n: d, k: p, dAttention, lda: d, positions, ldb: d, beta: 1, g.linearTwoWeight, ldc: d, threads: threads)
        accumulateBiasGradient(dAttention, rows: p, width: d, into: g.linearTwoBias)
        gemm(.none, .none, m: p, n: d, k: d, dAttention, lda: d, w.linearTwoWeight, ldb: d, beta: 1, dPositions, ldc: d, threads: threads)
        // q1 = h_t W_1^T + b_1; h_t lives in readout[:, d...], its gradient in dReadout[:, d...].
        gemm(.transposed, .none, m: d, n: d, k: b, dQueryLast, lda: d, readout + d, ldb: 2 * d, beta: 1, g.linearOneWeight, ldc: d, threads: threads)
        accumulateBiasGradient(dQueryLast, rows: b, width: d, into: g.linearOneBias)
        gemm(.none, .none, m: b, n: d, k: d, dQueryLast, lda: d, w.linearOneWeight, ldb: d, beta: 1, dReadout + d, ldc: 2 * d, threads: threads)
        for s in 0..<b {
            let target = dPositions + batch.lastPosition(of: s) * d, source = dReadout + s * 2 * d + d
            for j in 0..<d { target[j] += source[j] }
        }
        // H = states[positionNodes]
        var dStates = ws.dStates.zeroed(n * d)
        batch.positionNodes.withUnsafeBufferPointer { scatterAddRows(dPositions, width: d, indices: $0, into: dStates) }

        // Gated graph cells, last step first.
        var dPrevious = ws.dPrevious.reserve(n * d)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            gatedGraphCellBackward(batch, weights: w, gradient: g,
                                   hidden: ws.states.pointer + t * n * d,
                                   aggregate: ws.aggregates.pointer + t * n * 2 * d,
                                   gates: ws.gates.pointer + t * n * 4 * d,
                                   dNext: dStates, dHidden: dPrevious, workspace: ws, threads: threads)
            swap(&dStates, &dPrevious)
        }
        // h0 = E[nodeItems]
        batch.nodeItems.withUnsafeBufferPointer { scatterAddRows(dStates, width: d, indices: $0, into: g.embedding) }
        return totalLoss
    }

    /// Backward of `gatedGraphCell`: from `dNext` = ∂L/∂h' to `dHidden` = ∂L/∂h (overwritten),
    /// adding every weight's gradient into `g`.
    func gatedGraphCellBackward(_ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
                                gradient g: ParameterPointers<UnsafeMutablePointer<Float>>,
                                hidden h: UnsafeMutablePointer<Float>, aggregate a: UnsafeMutablePointer<Float>,
                                gates: UnsafeMutablePointer<Float>, dNext: UnsafeMutablePointer<Float>,
                                dHidden: UnsafeMutablePointer<Float>, workspace ws: SRGNNWorkspace, threads: Int) {
        let d = configuration.hiddenSize, n = batch.nodeCount
        let dgi = ws.dInputGates.reserve(n * 3 * d), dgh = ws.dHiddenGates.reserve(n * 3 * d)
        parallelFor(n, threads: threads, minimumPerThread: 128) { v in
            let gateRow = gates + v * 4 * d, hRow = h + v * d, dNextRow = dNext + v * d
            let dgiRow = dgi + v * 3 * d, dghRow = dgh + v * 3 * d, dHiddenRow = dHidden + v * d
            for j in 0..<d {
                let resetGate = gateRow[j], updateGate = gateRow[d + j]
                let candidate = gateRow[2 * d + j], hiddenNew = gateRow[3 * d + j]
                let dOut = dNextRow[j]
                // h' = c + z (h − c)
                let dCandidate = dOut * (1 - updateGate)
                let dUpdate = dOut * (hRow[j] - candidate)
                dHiddenRow[j] = dOut * updateGate
                // c = tanh(gi_n + r gh_n)
                let dCandidatePre = dCandidate * (1 - candidate * candidate)
                let dReset = dCandidatePre * hiddenNew
                let dUpdatePre = dUpdate * updateGate * (1 - updateGate)
                let dResetPre = dReset * resetGate * (1 - resetGate)
                dgiRow[j] = dResetPre; dghRow[j] = dResetPre
                dgiRow[d + j] = dUpdatePre; dghRow[d + j] = dUpdatePre
                dgiRow[2 * d + j] = dCandidatePre; dghRow[2 * d + j] = dCandidatePre * resetGate
            }
        }
        // gh = h W_hh^T + b_hh
        gemm(.transposed, .none, m: 3 * d, n: d, k: n, dgh, lda: 3 * d, h, ldb: d, beta: 1, g.hiddenWeight, ldc: d, threads: threads)
        accumulateBiasGradient(dgh, rows: n, width: 3 * d, into: g.hiddenBias)
        gemm(.none, .none, m: n, n: d, k: 3 * d, dgh, lda: 3 * d, w.hiddenWeight, ldb: d, beta: 1, dHidden, ldc: d, threads: threads)
        // gi = a W_ih^T + b_ih
        gemm(.transposed, .none, m: 3 * d, n: 2 * d, k: n, dgi, lda: 3 * d, a, ldb: 2 * d, beta: 1, g.inputWeight, ldc: 2 * d, threads: threads)
        accumulateBiasGradient(dgi, rows: n, width: 3 * d, into: g.inputBias)
        let da = ws.dAggregates.reserve(n * 2 * d)
        gemm(.none, .none, m: n, n: 2 * d, k: 3 * d, dgi, lda: 3 * d, w.inputWeight, ldb: 2 * d, da, ldc: 2 * d, threads: threads)
        // a_in = A_in x_in + b_iah,  a_out = A_out x_out + b_oah
        accumulateBiasGradient(da, rows: n, width: d, stride: 2 * d, into: g.inAggregateBias)
        accumulateBiasGradient(da + d, rows: n, width: d, stride: 2 * d, into: g.outAggregateBias)
        let dEdgeIn = ws.dEdgeInput.zeroed(n * d), dEdgeOut = ws.dEdgeOutput.zeroed(n * d)
        batch.withAdjacency { incoming, outgoing in
            batch.nodeOffsets.withUnsafeBufferPointer { nodeOffsets in
                // Whole sessions per worker: their nodes, and so the scatter targets, are disjoint.
                parallelChunks(batch.sessionCount, threads: threads, minimumPerThread: 32) { sessions in
                    let rows = Int(nodeOffsets[sessions.lowerBound])..<Int(nodeOffsets[sessions.upperBound])
                    incoming.scatter(da, rowStride: 2 * d, into: dEdgeIn, width: d, rows: rows)
                    outgoing.scatter(da + d, rowStride: 2 * d, into: dEdgeOut, width: d, rows: rows)
                }
            }
        }
        // x = h W^T + b for both directions
        gemm(.transposed, .none, m: d, n: d, k: n, dEdgeIn, lda: d, h, ldb: d, beta: 1, g.edgeInWeight, ldc: d, threads: threads)
        accumulateBiasGradient(dEdgeIn, rows: n, width: d, into: g.edgeInBias)
        gemm(.none, .none, m: n, n: d, k: d, dEdgeIn, lda: d, w.edgeInWeight, ldb: d, beta: 1, dHidden, ldc: d, threads: threads)
        gemm(.transposed, .none, m: d, n: d, k: n, dEdgeOut, lda: d, h, ldb: d, beta: 1, g.edgeOutWeight, ldc: d, threads: threads)
        accumulateBiasGradient(dEdgeOut, rows: n, width: d, into: g.edgeOutBias)
        gemm(.none, .none, m: n, n: d, k: d, dEdgeOut, lda: d, w.edgeOutWeight, ldb: d, beta: 1, dHidden, ldc: d, threads: threads)
    }
}
