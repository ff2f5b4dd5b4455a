import Foundation

/// SR-GNN (Wu et al., AAAI 2019): a gated graph network over each session's item graph, an
/// attention readout, and scores against every item embedding.
///
/// The forward pass and its hand-written backward follow the official PyTorch code exactly
/// (see `docs/MODEL.md` and the shared REFERENCE.md); a batch is ragged — every session's nodes
/// are stacked into one matrix — so no arithmetic is spent on padding. The value is immutable
/// and `Sendable`: a server shares one model across threads, each with its own workspace.
public struct SRGNNModel: Sendable {
    public let configuration: SRGNNConfiguration
    public var parameters: SRGNNParameters

    /// A freshly initialised model: every parameter ~ U(−1/√d, 1/√d) from `seed`.
    public init(configuration: SRGNNConfiguration, seed: UInt64) throws {
        try configuration.validate()
        var generator = SeededGenerator(seed: seed)
        self.configuration = configuration
        self.parameters = SRGNNParameters(configuration: configuration, generator: &generator)
    }

    /// A model over given parameters; their layout must match the configuration.
    public init(configuration: SRGNNConfiguration, parameters: SRGNNParameters) throws {
        try configuration.validate()
        guard parameters.embeddingRows == configuration.embeddingRows, parameters.hiddenSize == configuration.hiddenSize else {
            throw ModelError.invalidConfiguration(
                "parameters are [\(parameters.embeddingRows) rows, d=\(parameters.hiddenSize)], configuration wants [\(configuration.embeddingRows) rows, d=\(configuration.hiddenSize)]")
        }
        self.configuration = configuration
        self.parameters = parameters
    }

    /// Checks that a session can be scored: non-empty, every id in `1...itemCount`.
    public func validate<S: Collection>(session: S) throws where S.Element == Int32 {
        guard !session.isEmpty else { throw ModelError.emptySession }
        for (position, item) in session.enumerated() where item < 1 || Int(item) > configuration.itemCount {
            throw ModelError.itemOutOfRange(item: Int(item), position: position, itemCount: configuration.itemCount)
        }
    }

    // MARK: Forward

    /// Scores of every item for every session of `batch`: `[B, itemCount]` in `workspace.scores`,
    /// column `j` for item `j + 1`. Keeps the activations that `backward` needs. The pointer is
    /// valid while `workspace` lives and until its next use.
    @discardableResult
    public func forward(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1) -> UnsafeMutablePointer<Float> {
        let d = configuration.hiddenSize, b = batch.sessionCount, items = configuration.itemCount
        let sessionEmbedding = sessionEmbeddings(batch, workspace: ws, threads: threads)
        let scores = ws.scores.reserve(b * items)
        parameters.withPointers { w in
            // scores = s_h · E[1...]^T   [B, d] × [d, I]
            gemm(.none, .transposed, m: b, n: items, k: d, sessionEmbedding, lda: d, w.embedding + d, ldb: d,
                 scores, ldc: items, threads: threads)
        }
        return scores
    }

    /// The session embeddings `s_h` `[B, d]` of `batch` (in `workspace.sessionEmbedding`): the
    /// gated graph network and the attention readout, everything before the product with `E`.
    @discardableResult
    public func sessionEmbeddings(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1) -> UnsafeMutablePointer<Float> {
        parameters.withPointers { network.sessionEmbeddings(batch, weights: $0, workspace: ws, threads: threads) }
    }

    var network: SRGNNNetwork { SRGNNNetwork(configuration: configuration) }
}

/// The layers' arithmetic over parameter pointers. Kept apart from `SRGNNModel` so that the
/// training step can run it while it holds the parameters for writing (it updates the embedding
/// inside the score layer), and the read-only passes while they hold them for reading.
struct SRGNNNetwork {
    let configuration: SRGNNConfiguration

    func sessionEmbeddings(_ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
                           workspace ws: SRGNNWorkspace, threads: Int) -> UnsafeMutablePointer<Float> {
        let d = configuration.hiddenSize
        let n = batch.nodeCount
        let steps = configuration.step
        let states = ws.states.reserve((steps + 1) * n * d)
        batch.nodeItems.withUnsafeBufferPointer { gatherRows(w.embedding, width: d, indices: $0, into: states) }

        let aggregates = ws.aggregates.reserve(steps * n * 2 * d)
        let gates = ws.gates.reserve(steps * n * 4 * d)
        for t in 0..<steps {
            gatedGraphCell(batch, weights: w, hidden: states + t * n * d, next: states + (t + 1) * n * d,
                           aggregate: aggregates + t * n * 2 * d, gates: gates + t * n * 4 * d, workspace: ws, threads: threads)
        }
        attentionReadout(batch, weights: w, nodeStates: states + steps * n * d, workspace: ws, threads: threads)
        return ws.sessionEmbedding.pointer
    }

    /// One gated graph step (the reference's `GNNCell`), hidden `[N, d]` → next `[N, d]`:
    ///
    ///     a_in  = A_in  · (h W_in^T + b_in)  + b_iah      a_out = A_out · (h W_out^T + b_out) + b_oah
    ///     gi = [a_in | a_out] W_ih^T + b_ih               gh = h W_hh^T + b_hh
    ///     r = σ(gi_r + gh_r)   z = σ(gi_i + gh_i)   c = tanh(gi_n + r ⊙ gh_n)
    ///     h' = c + z ⊙ (h − c)
    ///
    /// Stores `[a_in | a_out]` in `aggregate` `[N, 2d]` and (r, z, c, gh_n) in `gates` `[N, 4d]`.
    func gatedGraphCell(_ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
                        hidden h: UnsafeMutablePointer<Float>, next: UnsafeMutablePointer<Float>,
                        aggregate a: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>,
                        workspace ws: SRGNNWorkspace, threads: Int) {
        let d = configuration.hiddenSize, n = batch.nodeCount
        let edgeIn = ws.edgeInput.reserve(n * d), edgeOut = ws.edgeOutput.reserve(n * d)
        // x = h W^T + b for both edge directions.
        gemm(.none, .transposed, m: n, n: d, k: d, h, lda: d, w.edgeInWeight, ldb: d, edgeIn, ldc: d, threads: threads)
        addBias(edgeIn, rows: n, width: d, w.edgeInBias)
        gemm(.none, .transposed, m: n, n: d, k: d, h, lda: d, w.edgeOutWeight, ldb: d, edgeOut, ldc: d, threads: threads)
        addBias(edgeOut, rows: n, width: d, w.edgeOutBias)
        // a_in[v] = b_iah + Σ_u A_in[v][u] x_in[u];  a_out[u] = b_oah + Σ_v A_out[u][v] x_out[v].
        batch.withAdjacency { incoming, outgoing in
            parallelChunks(n, threads: threads, minimumPerThread: 128) { rows in
                incoming.aggregate(edgeIn, into: a, rowStride: 2 * d, width: d, rows: rows)
                outgoing.aggregate(edgeOut, into: a + d, rowStride: 2 * d, width: d, rows: rows)
                for v in rows {
                    let row = a + v * 2 * d
                    for j in 0..<d { row[j] += w.inAggregateBias[j]; row[d + j] += w.outAggregateBias[j] }
                }
            }
        }
        let gi = ws.inputGates.reserve(n * 3 * d), gh = ws.hiddenGates.reserve(n * 3 * d)
        gemm(.none, .transposed, m: n, n: 3 * d, k: 2 * d, a, lda: 2 * d, w.inputWeight, ldb: 2 * d, gi, ldc: 3 * d, threads: threads)
        gemm(.none, .transposed, m: n, n: 3 * d, k: d, h, lda: d, w.hiddenWeight, ldb: d, gh, ldc: 3 * d, threads: threads)
        parallelFor(n, threads: threads, minimumPerThread: 128) { v in
            let giRow = gi + v * 3 * d, ghRow = gh + v * 3 * d, gateRow = gates + v * 4 * d
            let hRow = h + v * d, nextRow = next + v * d
            for j in 0..<d {
                let resetGate = sigmoid(giRow[j] + w.inputBias[j] + ghRow[j] + w.hiddenBias[j])
                let updateGate = sigmoid(giRow[d + j] + w.inputBias[d + j] + ghRow[d + j] + w.hiddenBias[d + j])
                let hiddenNew = ghRow[2 * d + j] + w.hiddenBias[2 * d + j]
                let candidate = tanhf(giRow[2 * d + j] + w.inputBias[2 * d + j] + resetGate * hiddenNew)
                nextRow[j] = candidate + updateGate * (hRow[j] - candidate)
                gateRow[j] = resetGate
                gateRow[d + j] = updateGate
                gateRow[2 * d + j] = candidate
                gateRow[3 * d + j] = hiddenNew
            }
        }
    }

    /// The attention readout (the reference's `compute_scores` before the product with `E`):
    ///
    ///     H = node states at click positions, h_t = H[last]
    ///     α_i = w_3 · σ(W_1 h_t + b_1 + W_2 H_i + b_2)      (no softmax)
    ///     s_g = Σ_i α_i H_i
    ///     s_h = W_3 [s_g | h_t] + b_3   (hybrid)   or   s_h = s_g   (nonhybrid)
    ///
    /// Leaves `H` in `positions`, σ(…) in `attention`, α in `attentionWeights`, `[s_g | h_t]` in
    /// `readout` and `s_h` in `sessionEmbedding`.
    func attentionReadout(_ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
                          nodeStates: UnsafeMutablePointer<Float>, workspace ws: SRGNNWorkspace, threads: Int) {
        let d = configuration.hiddenSize, p = batch.positionCount, b = batch.sessionCount
        let positions = ws.positions.reserve(p * d)
        batch.positionNodes.withUnsafeBufferPointer { gatherRows(nodeStates, width: d, indices: $0, into: positions) }
        // readout rows hold [s_g | h_t]; h_t is copied first so q1 can read it.
        let readout = ws.readout.reserve(b * 2 * d)
        for s in 0..<b {
            (readout + s * 2 * d + d).update(from: positions + batch.lastPosition(of: s) * d, count: d)
        }
        let queryLast = ws.queryLast.reserve(b * d)
        gemm(.none, .transposed, m: b, n: d, k: d, readout + d, lda: 2 * d, w.linearOneWeight, ldb: d, queryLast, ldc: d, threads: threads)
        addBias(queryLast, rows: b, width: d, w.linearOneBias)
        let attention = ws.attention.reserve(p * d)
        gemm(.none, .transposed, m: p, n: d, k: d, positions, lda: d, w.linearTwoWeight, ldb: d, attention, ldc: d, threads: threads)
        let weights = ws.attentionWeights.reserve(p)
        batch.positionOffsets.withUnsafeBufferPointer { offsets in
            parallelFor(b, threads: threads, minimumPerThread: 32) { s in
                let q1 = queryLast + s * d
                let global = readout + s * 2 * d
                for j in 0..<d { global[j] = 0 }
                for i in Int(offsets[s])..<Int(offsets[s + 1]) {
                    let row = attention + i * d
                    var alpha: Float = 0
                    for j in 0..<d {
                        let activated = sigmoid(q1[j] + row[j] + w.linearTwoBias[j])
                        row[j] = activated
                        alpha += activated * w.linearThreeWeight[j]
                    }
                    weights[i] = alpha
                    let hRow = positions + i * d
                    for j in 0..<d { global[j] += alpha * hRow[j] }
                }
            }
        }
        let sessionEmbedding = ws.sessionEmbedding.reserve(b * d)
        if configuration.nonhybrid {
            for s in 0..<b { (sessionEmbedding + s * d).update(from: readout + s * 2 * d, count: d) }
        } else {
            gemm(.none, .transposed, m: b, n: d, k: 2 * d, readout, lda: 2 * d, w.transformWeight, ldb: 2 * d,
                 sessionEmbedding, ldc: d, threads: threads)
            addBias(sessionEmbedding, rows: b, width: d, w.transformBias)
        }
    }
}
