/// Activations and gradient scratch of one forward/backward pass, reused from batch to batch.
///
/// Shapes (N stacked nodes, P click positions, B sessions, d hidden, I items):
/// states `[(step + 1), N, d]`, aggregates `[step, N, 2d]`, gates `[step, N, 4d]` (r, z, c, h_n),
/// positions `[P, d]`, attention `[P, d]` (σ(q1 + q2)), weights `[P]`, readout `[B, 2d]`
/// (`s_g | h_t`), sessionEmbedding `[B, d]`, scores `[B, I]` (then their gradient, in place).
public final class SRGNNWorkspace {
    let states = ScratchBuffer()
    let aggregates = ScratchBuffer()
    let gates = ScratchBuffer()
    let edgeInput = ScratchBuffer()
    let edgeOutput = ScratchBuffer()
    let inputGates = ScratchBuffer()
    let hiddenGates = ScratchBuffer()
    let positions = ScratchBuffer()
    let attention = ScratchBuffer()
    let attentionWeights = ScratchBuffer()
    let queryLast = ScratchBuffer()
    let readout = ScratchBuffer()
    let sessionEmbedding = ScratchBuffer()
    public let scores = ScratchBuffer()
    let tileMaxima = ScratchBuffer()
    let tileSums = ScratchBuffer()
    let targetLogits = ScratchBuffer()
    let sessionEmbeddingPartials = ScratchBuffer()
    let tileGradients = ScratchBuffer()
    /// Embedding rows of the batch's items, whose update waits for the graph network's backward.
    var deferredRows = [Bool]()
    // Gradients of activations.
    let dSessionEmbedding = ScratchBuffer()
    let dReadout = ScratchBuffer()
    let dPositions = ScratchBuffer()
    let dAttention = ScratchBuffer()
    let dQueryLast = ScratchBuffer()
    let dAttentionWeights = ScratchBuffer()
    let dStates = ScratchBuffer()
    let dPrevious = ScratchBuffer()
    let dInputGates = ScratchBuffer()
    let dHiddenGates = ScratchBuffer()
    let dAggregates = ScratchBuffer()
    let dEdgeInput = ScratchBuffer()
    let dEdgeOutput = ScratchBuffer()

    public init() {}
}
