import Foundation
import SessionData
import TensorCore

/// SR-GNN (Wu et al., AAAI 2019): a gated graph network over each session's item graph, an
/// attention readout, and scores against every item embedding.
///
/// The layers (`GatedGraphCell`, `AttentionReadout`, `ScoreLayer`) each hold their forward and
/// backward side by side and follow the official PyTorch code exactly (see the shared
/// REFERENCE.md). A batch is ragged — every session's nodes are stacked into one matrix — so no
/// arithmetic is spent on padding. The value is immutable and `Sendable`: a server shares one
/// model across threads, each with its own workspace.
///
/// Training runs `forward`, `loss`, `backward` in that order on one workspace (module Training
/// owns the step and the optimizer).
public struct SRGNNModel: Sendable {
    public let configuration: SRGNNConfiguration
    public var parameters: SRGNNParameters
    /// The instruction set every pass of this model runs on, passed to each product, C loop and
    /// worker thread: `ScoreKernels.defaultPath` unless set (the every-path tests set it).
    public var kernelPath: KernelPath = ScoreKernels.defaultPath {
        willSet { precondition(newValue.isSupported, "kernel path \(newValue) is not supported on this machine") }
    }

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
                "parameters are [\(parameters.embeddingRows) rows, d=\(parameters.hiddenSize)], configuration wants [\(configuration.embeddingRows) rows, d=\(configuration.hiddenSize)]"
            )
        }
        guard parameters.positionRows == configuration.positionEmbeddingRows else {
            throw ModelError.invalidConfiguration(
                "parameters have \(parameters.positionRows) position embeddings, the configuration \(configuration.positionEmbeddingRows) (a NISER+ model needs its checkpoint's metadata)"
            )
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

    func layers(tileItems: Int = 1_024) -> SRGNNLayers {
        SRGNNLayers(configuration: configuration, tileItems: tileItems, path: kernelPath)
    }

    // MARK: Training passes

    /// Forward through the gated graph cell and the attention readout: the session embeddings `s_h`
    /// `[B, d]` (NISER: `σ ŝ_h`), valid until the workspace's next batch. Keeps what `backward`
    /// needs. Inference: no dropout, whatever the configuration says.
    @discardableResult
    public func forward(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1) -> UnsafePointer<Float> {
        ws.prepareForward(batch, configuration)
        ws.dropoutActive = false
        let layers = layers()
        return UnsafePointer(parameters.withPointers { layers.forward(batch, weights: $0, workspace: ws, threads: threads) })
    }

    /// The training forward: as `forward`, with NISER+'s dropout on the graph's input drawn from
    /// `dropoutGenerator` (one mask element per node and dimension, in order; then, with
    /// `authorsCode`, the mask of the graph's output; untouched when the configuration has no dropout).
    @discardableResult
    public func forward(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1,
        dropoutGenerator: inout SeededGenerator
    ) -> UnsafePointer<Float> {
        ws.prepareForward(batch, configuration)
        ws.dropoutActive = configuration.dropout > 0
        if ws.dropoutActive {
            let count = batch.nodeCount * configuration.hiddenSize
            Dropout.drawMask(
                UnsafeMutableBufferPointer(start: ws.dropoutMask.pointer(count), count: count),
                probability: configuration.dropout, generator: &dropoutGenerator)
            if configuration.authorsCode {
                Dropout.drawMask(
                    UnsafeMutableBufferPointer(start: ws.outputDropoutMask.pointer(count), count: count),
                    probability: configuration.dropout, generator: &dropoutGenerator)
            }
        }
        let layers = layers()
        return UnsafePointer(parameters.withPointers { layers.forward(batch, weights: $0, workspace: ws, threads: threads) })
    }

    /// The mean cross-entropy of `batch.targets` (after `forward` on the same workspace):
    ///
    ///     loss = (1/B) Σ_b [logsumexp(scores_b) − scores_b[target_b − 1]]
    ///
    /// Keeps the scores, as shifted exponentials, for `backward`.
    public func loss(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1, tileItems: Int = 1_024) -> Float {
        precondition(batch.targets.count == batch.sessionCount, "the loss needs one target per session")
        let layers = layers(tileItems: tileItems), path = kernelPath
        ws.prepareTraining(batch, configuration, scoreLayer: layers.scoreLayer, threads: threads)
        let total = parameters.withPointers { w in
            // NISER: Ê once per step, for the scores here and the backward; the score layer
            // normalises each tile just before scoring it (row 0, never scored, is done here).
            var items = w.embedding, normalization: TileNormalization? = nil
            if configuration.normalize {
                let d = configuration.hiddenSize
                ws.prepareNormalizedItems(configuration, gradient: false)
                normalization = TileNormalization(
                    items: w.embedding, normalizedItems: ws.normalizedItems.pointer(configuration.embeddingRows * d),
                    reciprocalNorms: ws.itemReciprocalNorms.pointer(configuration.embeddingRows))
                RowNormalization.forward(
                    w.embedding, rows: 0..<1, width: d, into: normalization!.normalizedItems,
                    reciprocalNorms: normalization!.reciprocalNorms, path: path)
                items = UnsafePointer(normalization!.normalizedItems)
            }
            return batch.targets.withUnsafeBufferPointer { targets in
                layers.scoreLayer.loss(
                    sessionEmbedding: ws.sessionEmbedding.pointer(batch.sessionCount * configuration.hiddenSize),
                    targets: targets, embedding: items, normalization: normalization, workspace: ws, threads: threads)
            }
        }
        return Float(total / Double(batch.sessionCount))
    }

    /// Backward of `loss` through every layer (after `loss` on the same workspace, with the same
    /// `tileItems`): gradients added to `gradient` (`.accumulate`), or written (`.overwrite`, which
    /// spares zeroing the 4.3 million floats of the embedding gradient at Diginetica size).
    public func backward(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, gradient: inout SRGNNParameters,
        mode: GradientMode = .accumulate, threads: Int = 1, tileItems: Int = 1_024
    ) {
        prepare(&gradient, mode: mode)
        let layers = layers(tileItems: tileItems)
        // NISER unfused: ∂L/∂Ê gets a matrix of its own (the fused step needs none).
        if configuration.normalize { ws.prepareNormalizedItems(configuration, gradient: true) }
        parameters.withPointers { w in
            gradient.withMutablePointers { g in
                layers.backward(
                    batch, weights: w, gradient: g, accumulate: mode == .accumulate, fused: nil, workspace: ws, threads: threads)
            }
        }
    }

    /// `backward` in overwrite mode with the embedding's optimizer update fused into the score
    /// layer: `update` receives every embedding row with its finished gradient while the row is in
    /// cache, except row 0 and the batch's items, which the graph network's backward still adds to.
    /// Those are listed in `workspace.heldBackRows`, their gradients in `gradient`, for the caller
    /// to update afterwards. The other embedding rows of `gradient` are left undefined.
    public mutating func backward(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, gradient: inout SRGNNParameters,
        threads: Int = 1, tileItems: Int = 1_024, updatingEmbeddingRows update: EmbeddingRowUpdate
    ) {
        prepare(&gradient, mode: .overwrite)
        ws.markHeldBackRows(batch, embeddingRows: configuration.embeddingRows)
        let layers = layers(tileItems: tileItems)
        parameters.withMutablePointers { theta in
            gradient.withMutablePointers { g in
                ws.heldBack.withUnsafeBufferPointer { heldBack in
                    let normalization =
                        configuration.normalize
                        ? ItemNormalizationBackward(
                            normalizedItems: UnsafePointer(
                                ws.normalizedItems.pointer(configuration.embeddingRows * configuration.hiddenSize)),
                            reciprocalNorms: UnsafePointer(ws.itemReciprocalNorms.pointer(configuration.embeddingRows)))
                        : nil
                    let fused = FusedEmbeddingUpdate(
                        hook: update, embedding: theta.embedding, heldBack: heldBack.baseAddress!,
                        normalization: normalization)
                    layers.backward(
                        batch, weights: theta.readOnly, gradient: g, accumulate: false, fused: fused,
                        workspace: ws, threads: threads)
                }
            }
        }
    }

    /// `forward`, `loss` and `backward` in one call; returns the mean loss.
    @discardableResult
    public func lossAndGradient(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, gradient: inout SRGNNParameters,
        mode: GradientMode = .accumulate, threads: Int = 1, tileItems: Int = 1_024
    ) -> Float {
        forward(batch, workspace: ws, threads: threads)
        let loss = loss(batch, workspace: ws, threads: threads, tileItems: tileItems)
        backward(batch, workspace: ws, gradient: &gradient, mode: mode, threads: threads, tileItems: tileItems)
        return loss
    }

    /// In overwrite mode everything but embedding rows 1… (which the score layer writes) starts at zero.
    private func prepare(_ gradient: inout SRGNNParameters, mode: GradientMode) {
        precondition(
            gradient.embeddingRows == parameters.embeddingRows && gradient.hiddenSize == parameters.hiddenSize,
            "the gradient's layout must match the parameters'")
        guard mode == .overwrite else { return }
        let d = configuration.hiddenSize
        let embeddingEnd = gradient.range(of: .embedding).upperBound
        gradient.storage.withUnsafeMutableBufferPointer { storage in
            storage.baseAddress!.update(repeating: 0, count: d)
            (storage.baseAddress! + embeddingEnd).update(repeating: 0, count: storage.count - embeddingEnd)
        }
    }
}

/// Whether a backward pass adds to the gradient buffer or overwrites it.
public enum GradientMode: Sendable {
    case accumulate, overwrite
}

/// The model's layers in order, over parameter pointers. Kept apart from `SRGNNModel` so that the
/// fused backward can run them while it holds the parameters for writing.
///
/// NISER (`configuration.normalize`) and NISER+ (position embeddings, dropout) wrap the same
/// layers with the ops of `Niser.swift`:
///
///     h_0 = drop(Ê[nodes]),  Ê = rows of E normalised     (SR-GNN: h_0 = E[nodes])
///     h_{t+1} = cell(h_t);   H_i = h_T[node(i)] + P[L − 1 − i]
///     s_h = readout(H);      s' = σ s_h / ‖s_h‖;   scores = s' Ê[1...]^T
///
/// With `authorsCode`: H_i = drop'(h_T)[node(i)] + P[i], and the readout's α gets a softmax.
struct SRGNNLayers {
    let configuration: SRGNNConfiguration
    let cell: GatedGraphCell
    let readout: AttentionReadout
    let scoreLayer: ScoreLayer
    let sessionNormalization: SessionNormalization?
    /// The model's `kernelPath`, which every layer runs on.
    let path: KernelPath

    init(configuration: SRGNNConfiguration, tileItems: Int, path: KernelPath) {
        self.configuration = configuration
        self.path = path
        cell = GatedGraphCell(hiddenSize: configuration.hiddenSize, path: path)
        readout = AttentionReadout(
            hiddenSize: configuration.hiddenSize, nonhybrid: configuration.nonhybrid, path: path,
            positions: configuration.positionEmbeddingRows > 0
                ? PositionEmbedding(
                    hiddenSize: configuration.hiddenSize, rows: configuration.positionEmbeddingRows,
                    fromFirstClick: configuration.authorsCode)
                : nil,
            usesSoftmax: configuration.authorsCode)
        scoreLayer = ScoreLayer(
            hiddenSize: configuration.hiddenSize, itemCount: configuration.itemCount, tileItems: tileItems, path: path)
        sessionNormalization =
            configuration.normalize
            ? SessionNormalization(hiddenSize: configuration.hiddenSize, scale: configuration.scale, path: path) : nil
    }

    /// NISER: Ê = every row of E normalised, into `workspace.normalizedItems` (1/‖e_j‖ beside it),
    /// rows split over `threads`. Returns Ê.
    func normalizeItems(_ embedding: UnsafePointer<Float>, workspace ws: SRGNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        let rows = configuration.embeddingRows, d = configuration.hiddenSize
        ws.prepareNormalizedItems(configuration, gradient: false)
        let items = ws.normalizedItems.pointer(rows * d), norms = ws.itemReciprocalNorms.pointer(rows)
        parallelChunks(rows, threads: threads, minimumPerThread: 4_096) { chunk in
            RowNormalization.forward(embedding, rows: chunk, width: d, into: items, reciprocalNorms: norms, path: path)
        }
        return UnsafePointer(items)
    }

    /// h_0 = E[nodes] (NISER: Ê[nodes], then dropout in training); h_{t+1} = cell(h_t) for T
    /// propagation steps; s_h = readout(h_T) (NISER: then σ ŝ_h).
    func forward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        workspace ws: SRGNNWorkspace, threads: Int
    ) -> UnsafeMutablePointer<Float> {
        let d = configuration.hiddenSize, n = batch.nodeCount, steps = configuration.propagationSteps
        let states = ws.nodeStates.pointer((steps + 1) * n * d)
        let aggregates = ws.aggregates.pointer(steps * n * 2 * d), gates = ws.gates.pointer(steps * n * 4 * d)
        batch.nodeItems.withUnsafeBufferPointer { gatherRows(w.embedding, width: d, indices: $0, into: states) }
        if configuration.normalize {
            // The same rows, by the same arithmetic, as the full Ê of the scores.
            RowNormalization.forward(states, rows: 0..<n, width: d, into: states, reciprocalNorms: nil, path: path)
        }
        if ws.dropoutActive { Dropout.apply(ws.dropoutMask.pointer(n * d), to: states, count: n * d) }
        for t in 0..<steps {
            cell.forward(
                batch, weights: w, hidden: states + t * n * d, next: states + (t + 1) * n * d,
                aggregate: aggregates + t * n * 2 * d, gates: gates + t * n * 4 * d, workspace: ws, threads: threads)
        }
        if ws.dropoutActive && configuration.authorsCode {
            Dropout.apply(ws.outputDropoutMask.pointer(n * d), to: states + steps * n * d, count: n * d)
        }
        let sessionEmbedding = readout.forward(batch, weights: w, nodeStates: states + steps * n * d, workspace: ws, threads: threads)
        sessionNormalization?.forward(sessionEmbedding, sessions: batch.sessionCount, workspace: ws)
        return sessionEmbedding
    }

    /// From ∂L/∂s' in `workspace.dSessionEmbedding` (the score layer's output) back through the
    /// session normalisation (NISER), the readout, the propagation steps and the input dropout:
    /// the non-embedding gradients into `g`, and ∂L/∂h_0 `[N, d]` returned (h_0 = E[nodes], NISER: Ê[nodes]).
    func graphBackward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        gradient g: ParameterPointers<UnsafeMutablePointer<Float>>, workspace ws: SRGNNWorkspace, threads: Int
    ) -> UnsafeMutablePointer<Float> {
        let d = configuration.hiddenSize, n = batch.nodeCount, b = batch.sessionCount, steps = configuration.propagationSteps
        sessionNormalization?.backward(
            ws.dSessionEmbedding.pointer(b * d), scaledSessionEmbedding: ws.sessionEmbedding.pointer(b * d),
            sessions: b, workspace: ws)
        var dStates = ws.dNodeStates.pointer(n * d), dPrevious = ws.dPreviousStates.pointer(n * d)
        readout.backward(
            batch, weights: w, gradient: g, dSessionEmbedding: ws.dSessionEmbedding.pointer(b * d),
            dNodeStates: dStates, workspace: ws, threads: threads)
        if ws.dropoutActive && configuration.authorsCode { Dropout.apply(ws.outputDropoutMask.pointer(n * d), to: dStates, count: n * d) }
        let states = ws.nodeStates.pointer((steps + 1) * n * d)
        let aggregates = ws.aggregates.pointer(steps * n * 2 * d), gates = ws.gates.pointer(steps * n * 4 * d)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            cell.backward(
                batch, weights: w, gradient: g, hidden: states + t * n * d, aggregate: aggregates + t * n * 2 * d,
                gates: gates + t * n * 4 * d, dNext: dStates, dHidden: dPrevious, workspace: ws, threads: threads)
            swap(&dStates, &dPrevious)
        }
        if ws.dropoutActive { Dropout.apply(ws.dropoutMask.pointer(n * d), to: dStates, count: n * d) }
        return dStates
    }

    /// The layers' backward passes in exactly the reverse order of `forward`.
    ///
    /// NISER: the score layer's item gradient is ∂L/∂Ê; the graph input's gradient is added to it
    /// and the sum goes once through the normalisation's backward into ∂L/∂E. Unfused, ∂L/∂Ê is a
    /// workspace matrix; fused, the score layer turns each tile's rows into ∂L/∂E before the update
    /// and leaves the held-back rows as ∂L/∂Ê in `g.embedding`, finished here.
    func backward(
        _ batch: SessionBatch, weights w: ParameterPointers<UnsafePointer<Float>>,
        gradient g: ParameterPointers<UnsafeMutablePointer<Float>>, accumulate: Bool, fused: FusedEmbeddingUpdate?,
        workspace ws: SRGNNWorkspace, threads: Int
    ) {
        let d = configuration.hiddenSize, b = batch.sessionCount
        let rows = configuration.embeddingRows
        let normalize = configuration.normalize
        let scoredItems = normalize ? UnsafePointer(ws.normalizedItems.pointer(rows * d)) : w.embedding
        // Where ∂L/∂(scored items) goes: ∂L/∂E directly (SR-GNN, or NISER fused), or ∂L/∂Ê.
        let dScoredItems = normalize && fused == nil ? ws.dNormalizedItems.pointer(rows * d) : g.embedding
        if normalize && fused == nil { dScoredItems.update(repeating: 0, count: d) }  // row 0 is never scored
        batch.targets.withUnsafeBufferPointer { targets in
            scoreLayer.backward(
                sessionEmbedding: ws.sessionEmbedding.pointer(b * d), targets: targets, embedding: scoredItems,
                dEmbedding: dScoredItems, accumulate: accumulate && !normalize, update: fused, workspace: ws, threads: threads)
        }
        let dStates = graphBackward(batch, weights: w, gradient: g, workspace: ws, threads: threads)
        // h_0 = E[nodes] (NISER: Ê[nodes])
        batch.nodeItems.withUnsafeBufferPointer { scatterAddRows(dStates, width: d, indices: $0, into: dScoredItems, path: path) }
        guard normalize else { return }
        let norms = UnsafePointer(ws.itemReciprocalNorms.pointer(rows))
        if let fused {
            // Held-back rows hold ∂L/∂Ê (score layer + graph input); the others were finished per tile.
            precondition(fused.normalization != nil, "a NISER fused backward normalises its tiles")
            for row in ws.heldBackRows {
                RowNormalization.backward(
                    g.embedding, normalized: scoredItems, reciprocalNorms: norms, rows: Int(row)..<(Int(row) + 1),
                    width: d, into: g.embedding, accumulate: false, path: path)
            }
        } else {
            let dNormalized = UnsafePointer(dScoredItems)
            parallelChunks(rows, threads: threads, minimumPerThread: 4_096) { chunk in
                RowNormalization.backward(
                    dNormalized, normalized: scoredItems, reciprocalNorms: norms, rows: chunk, width: d,
                    into: g.embedding, accumulate: accumulate, path: path)
            }
        }
    }
}
