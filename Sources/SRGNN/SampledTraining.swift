import SessionData
import TensorCore

/// The embedding rows one sampled step touched — its sessions' items and its candidates — and their
/// gradients: O(touched · d) memory and work, where the full softmax's gradient is `[items + 1, d]`.
public struct EmbeddingRowGradient {
    public let hiddenSize: Int
    /// The touched rows (item ids), first appearance order.
    public private(set) var rows: [Int32] = []
    /// `[rows.count, d]` each touched row's gradient.
    public private(set) var values: [Float] = []
    /// Each embedding row's index in `rows`, −1 when untouched (reset row by row, not cleared).
    private var slotOfRow: [Int32]

    public init(embeddingRows: Int, hiddenSize: Int) {
        self.hiddenSize = hiddenSize
        slotOfRow = [Int32](repeating: -1, count: embeddingRows)
    }

    /// Starts a step: no row touched.
    mutating func reset() {
        for row in rows { slotOfRow[Int(row)] = -1 }
        rows.removeAll(keepingCapacity: true)
    }

    /// Each item's slot in `rows`, adding the rows not yet touched with a zero gradient.
    mutating func slots(touching items: UnsafeBufferPointer<Int32>) -> [Int32] {
        items.map { item in
            if slotOfRow[Int(item)] < 0 {
                slotOfRow[Int(item)] = Int32(rows.count)
                rows.append(item)
            }
            return slotOfRow[Int(item)]
        }
    }

    mutating func zeroValues() {
        let count = rows.count * hiddenSize
        if values.count < count {
            values = [Float](repeating: 0, count: count)
        } else {
            values.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: count) }
        }
    }

    mutating func withValues<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try values.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

/// Sampled-softmax training (`SampledSoftmax`): the graph network as in full training, then the
/// batch's sessions scored against its candidates only. Opt-in; the full softmax stays the model's
/// `loss` and `backward`.
extension SRGNNModel {
    /// The mean sampled loss of `batch` (after the training `forward` on `ws`): `candidates` are the
    /// batch's targets in order, then the shared negatives; `logCorrection[c]` is `log Q_c`.
    public func sampledLoss(
        _ batch: SessionBatch, candidates: [Int32], logCorrection: [Float], workspace ws: SRGNNWorkspace,
        sampled: SampledSoftmaxWorkspace
    ) -> Float {
        let b = batch.sessionCount, d = configuration.hiddenSize
        precondition(candidates.count >= b && candidates[0..<b].elementsEqual(batch.targets), "the candidates start with the batch's targets")
        precondition(logCorrection.count == candidates.count, "one correction per candidate")
        let layer = SampledSoftmax(hiddenSize: d, normalize: configuration.normalize, path: kernelPath)
        let total = parameters.withPointers { w in
            candidates.withUnsafeBufferPointer { candidates in
                layer.loss(
                    sessionEmbedding: ws.sessionEmbedding.pointer(b * d), batchSize: b, candidates: candidates,
                    logCorrection: logCorrection, embedding: w.embedding, workspace: sampled)
            }
        }
        return Float(total / Double(b))
    }

    /// Backward of `sampledLoss` (after it): every parameter's gradient but the embedding's written
    /// to `gradient` (its embedding part is not touched), and the embedding's to `rows`: the rows of
    /// the batch's items and of the candidates. NISER: each row's gradient goes through its
    /// normalisation (the candidates' in the sampled softmax, the graph input's here).
    public func sampledBackward(
        _ batch: SessionBatch, candidates: [Int32], workspace ws: SRGNNWorkspace, sampled: SampledSoftmaxWorkspace,
        gradient: inout SRGNNParameters, rows: inout EmbeddingRowGradient, threads: Int = 1
    ) {
        let b = batch.sessionCount, d = configuration.hiddenSize, n = batch.nodeCount
        zeroAllButEmbedding(&gradient)
        ws.prepareSampledBackward(batch, configuration)
        rows.reset()
        let candidateSlots = candidates.withUnsafeBufferPointer { rows.slots(touching: $0) }
        let nodeSlots = batch.nodeItems.withUnsafeBufferPointer { rows.slots(touching: $0) }
        rows.zeroValues()
        let layers = layers()
        let layer = SampledSoftmax(hiddenSize: d, normalize: configuration.normalize, path: kernelPath)
        parameters.withPointers { w in
            gradient.withMutablePointers { g in
                rows.withValues { dRows in
                    candidates.withUnsafeBufferPointer { candidates in
                        candidateSlots.withUnsafeBufferPointer { slots in
                            layer.backward(
                                sessionEmbedding: ws.sessionEmbedding.pointer(b * d), batchSize: b, candidates: candidates,
                                lossScale: 1 / Float(b), workspace: sampled, dSessionEmbedding: ws.dSessionEmbedding.pointer(b * d),
                                dRows: dRows, rowIndices: slots)
                        }
                    }
                    let dStates = layers.graphBackward(batch, weights: w, gradient: g, workspace: ws, threads: threads)
                    if configuration.normalize {
                        // h_0 = Ê[nodes]: ∂L/∂E of each node's row through its normalisation.
                        let normalized = ws.sampledNodeRows.pointer(n * d), norms = ws.sampledNodeNorms.pointer(n)
                        batch.nodeItems.withUnsafeBufferPointer { gatherRows(w.embedding, width: d, indices: $0, into: normalized) }
                        normalizeRows(normalized, rows: n, width: d, into: normalized, reciprocalNorms: norms, path: kernelPath)
                        normalizeRowsBackward(
                            dStates, normalized: normalized, reciprocalNorms: norms, rows: n, width: d, into: dStates,
                            accumulate: false, path: kernelPath)
                    }
                    nodeSlots.withUnsafeBufferPointer { scatterAddRows(dStates, width: d, indices: $0, into: dRows, path: kernelPath) }
                }
            }
        }
    }

    /// Zeroes every gradient but the embedding's.
    private func zeroAllButEmbedding(_ gradient: inout SRGNNParameters) {
        precondition(
            gradient.embeddingRows == parameters.embeddingRows && gradient.hiddenSize == parameters.hiddenSize,
            "the gradient's layout must match the parameters'")
        let embeddingEnd = gradient.range(of: .embedding).upperBound
        gradient.storage.withUnsafeMutableBufferPointer { storage in
            (storage.baseAddress! + embeddingEnd).update(repeating: 0, count: storage.count - embeddingEnd)
        }
    }
}
