import Foundation
import SessionData
import TensorCore

/// Activations and gradient scratch of one pass through the model, reused from batch to batch.
///
/// Shapes (N stacked nodes, P click positions, B sessions, d hidden, I items, T propagation steps):
/// node states `[T + 1, N, d]`, aggregates `[T, N, 2d]`, gates `[T, N, 4d]` (r, z, c, gh_c), click
/// states `[P, d]`, attention sigmoids `[P, d]`, coefficients α `[P]`, readout `[B, 2d]`
/// (`s_g | h_t`), session embedding `[B, d]`, scores `[B, I]` (then their gradient, in place).
///
/// Every buffer is sized by one `prepare…` call at the start of the pass that fills it; the
/// layers then take pointers that stay valid until the next batch (see `ScratchBuffer`).
public final class SRGNNWorkspace {
    // Gated graph cell
    let nodeStates = ScratchBuffer(), aggregates = ScratchBuffer(), gates = ScratchBuffer()
    let edgeIn = ScratchBuffer(), edgeOut = ScratchBuffer()
    let inputGates = ScratchBuffer(), hiddenGates = ScratchBuffer()
    // Attention readout
    let clickStates = ScratchBuffer(), readout = ScratchBuffer(), lastQuery = ScratchBuffer()
    let attentionSigmoid = ScratchBuffer(), attentionCoefficients = ScratchBuffer()
    let sessionEmbedding = ScratchBuffer()
    // Score layer
    let scores = ScratchBuffer(), targetScores = ScratchBuffer()
    let tileMaxima = ScratchBuffer(), tileSums = ScratchBuffer(), tileScales = ScratchBuffer()
    let dSessionEmbeddingPartials = ScratchBuffer(), tileGradients = ScratchBuffer()
    /// Each worker's cache-sized buffer for one tile of scores (`[B, tileItems]`): ranking,
    /// selection, and the loss and backward passes of training.
    let workerTiles = ScratchBuffer()
    /// Embedding rows whose gradient the graph network's backward still adds to (row 0, the batch's
    /// items): marked in `heldBack`, listed in `heldBackRows`.
    var heldBack = [Bool]()
    public private(set) var heldBackRows = [Int32]()
    // Gradients of activations
    let dSessionEmbedding = ScratchBuffer(), dReadout = ScratchBuffer(), dClickStates = ScratchBuffer()
    let dAttentionPre = ScratchBuffer(), dLastQuery = ScratchBuffer(), dAttentionCoefficients = ScratchBuffer()
    let dNodeStates = ScratchBuffer(), dPreviousStates = ScratchBuffer()
    let dInputGates = ScratchBuffer(), dHiddenGates = ScratchBuffer(), dAggregates = ScratchBuffer()
    let dEdgeIn = ScratchBuffer(), dEdgeOut = ScratchBuffer()
    // NISER: the normalised item matrix Ê `[I + 1, d]` with 1/‖e_j‖, filled once per training step
    // (and per call when inference has no pre-normalised items), ∂L/∂Ê for the unfused backward,
    // 1/‖s_h‖ per session, and NISER+'s dropout masks `[N, d]` on the graph's input and (authors'
    // code) output (`dropoutActive`: drawn this pass).
    let normalizedItems = ScratchBuffer(), itemReciprocalNorms = ScratchBuffer(), dNormalizedItems = ScratchBuffer()
    let sessionReciprocalNorms = ScratchBuffer(), dropoutMask = ScratchBuffer(), outputDropoutMask = ScratchBuffer()
    var dropoutActive = false
    // Sampled training: the batch's node rows normalised again for NISER's backward, and their 1/‖e‖.
    let sampledNodeRows = ScratchBuffer(), sampledNodeNorms = ScratchBuffer()

    public init() {}

    /// Sizes the buffers of the forward pass up to the session embedding.
    func prepareForward(_ batch: SessionBatch, _ configuration: SRGNNConfiguration) {
        let d = configuration.hiddenSize, steps = configuration.propagationSteps
        let n = batch.nodeCount, p = batch.positionCount, b = batch.sessionCount
        nodeStates.ensureCapacity((steps + 1) * n * d)
        aggregates.ensureCapacity(steps * n * 2 * d)
        gates.ensureCapacity(steps * n * 4 * d)
        for buffer in [edgeIn, edgeOut] { buffer.ensureCapacity(n * d) }
        for buffer in [inputGates, hiddenGates] { buffer.ensureCapacity(n * 3 * d) }
        for buffer in [clickStates, attentionSigmoid] { buffer.ensureCapacity(p * d) }
        attentionCoefficients.ensureCapacity(p)
        readout.ensureCapacity(b * 2 * d)
        for buffer in [lastQuery, sessionEmbedding] { buffer.ensureCapacity(b * d) }
        if configuration.normalize { sessionReciprocalNorms.ensureCapacity(b) }
        if configuration.dropout > 0 { dropoutMask.ensureCapacity(n * d) }
        if configuration.dropout > 0 && configuration.authorsCode { outputDropoutMask.ensureCapacity(n * d) }
    }

    /// Sizes the normalised item matrix (NISER) and, for the unfused backward, its gradient.
    func prepareNormalizedItems(_ configuration: SRGNNConfiguration, gradient: Bool) {
        let rows = configuration.embeddingRows, d = configuration.hiddenSize
        normalizedItems.ensureCapacity(rows * d)
        itemReciprocalNorms.ensureCapacity(rows)
        if gradient { dNormalizedItems.ensureCapacity(rows * d) }
    }

    /// Sizes the buffers of the loss and the backward pass.
    func prepareTraining(_ batch: SessionBatch, _ configuration: SRGNNConfiguration, scoreLayer: ScoreLayer, threads: Int) {
        let d = configuration.hiddenSize, items = configuration.itemCount
        let b = batch.sessionCount
        let tiles = scoreLayer.tileCount, workers = scoreLayer.workers(threads: threads)
        scores.ensureCapacity(b * items)
        targetScores.ensureCapacity(b)
        for buffer in [tileMaxima, tileSums, tileScales] { buffer.ensureCapacity(tiles * b) }
        dSessionEmbeddingPartials.ensureCapacity(tiles * b * d)
        tileGradients.ensureCapacity(workers * scoreLayer.tileItems * d)
        workerTiles.ensureCapacity(workers * b * scoreLayer.tileItems)
        prepareGraphBackward(batch, configuration)
    }

    /// Sizes the buffers of a sampled step's backward: the graph network's, none of `[B, I]`.
    func prepareSampledBackward(_ batch: SessionBatch, _ configuration: SRGNNConfiguration) {
        prepareGraphBackward(batch, configuration)
        if configuration.normalize {
            sampledNodeRows.ensureCapacity(batch.nodeCount * configuration.hiddenSize)
            sampledNodeNorms.ensureCapacity(batch.nodeCount)
        }
    }

    /// Sizes the gradients of the graph network's activations.
    private func prepareGraphBackward(_ batch: SessionBatch, _ configuration: SRGNNConfiguration) {
        let d = configuration.hiddenSize
        let n = batch.nodeCount, p = batch.positionCount, b = batch.sessionCount
        for buffer in [dSessionEmbedding, dLastQuery] { buffer.ensureCapacity(b * d) }
        dReadout.ensureCapacity(b * 2 * d)
        for buffer in [dClickStates, dAttentionPre] { buffer.ensureCapacity(p * d) }
        dAttentionCoefficients.ensureCapacity(p)
        for buffer in [dNodeStates, dPreviousStates, dEdgeIn, dEdgeOut] { buffer.ensureCapacity(n * d) }
        for buffer in [dInputGates, dHiddenGates] { buffer.ensureCapacity(n * 3 * d) }
        dAggregates.ensureCapacity(n * 2 * d)
    }

    /// Sizes the buffers of full scoring (`withScores`) and of ranking.
    func prepareScoring(sessions b: Int, itemCount: Int, scoreLayer: ScoreLayer, threads: Int, fullScores: Bool) {
        targetScores.ensureCapacity(b)
        if fullScores {
            scores.ensureCapacity(b * itemCount)
        } else {
            workerTiles.ensureCapacity(scoreLayer.workers(threads: threads) * b * scoreLayer.tileItems)
        }
    }

    /// Marks row 0 and the batch's items as held back from the fused update, and lists them.
    func markHeldBackRows(_ batch: SessionBatch, embeddingRows: Int) {
        if heldBack.count != embeddingRows { heldBack = [Bool](repeating: false, count: embeddingRows) }
        for row in heldBackRows { heldBack[Int(row)] = false }
        heldBackRows.removeAll(keepingCapacity: true)
        func hold(_ row: Int32) {
            guard !heldBack[Int(row)] else { return }
            heldBack[Int(row)] = true
            heldBackRows.append(row)
        }
        hold(0)
        for item in batch.nodeItems { hold(item) }
    }
}

/// Workspaces for concurrent calls: each call takes one and gives it back, so at most as many
/// exist as calls ever ran at once (a workspace holds a few `[B, I]` buffers, reused).
public final class WorkspacePool: @unchecked Sendable {
    // @unchecked: `free` is only touched under `lock`; a workspace is used by one call at a time.
    private let lock = NSLock()
    private var free: [SRGNNWorkspace] = []

    public init() {}

    /// Runs `body` with a workspace that no other call uses meanwhile.
    public func with<R>(_ body: (SRGNNWorkspace) throws -> R) rethrows -> R {
        let workspace = lock.withLock { free.popLast() } ?? SRGNNWorkspace()
        defer { lock.withLock { free.append(workspace) } }
        return try body(workspace)
    }
}
