import Foundation
import SessionData
import TensorCore

// NISER and NISER+ (Gupta et al., "NISER: Normalized Item and Session Representations to Handle
// Popularity Bias", arXiv 1909.04276) as four ops on SR-GNN's own network, each forward beside its
// backward. `SRGNNLayers` applies them when the configuration asks (`SRGNNConfiguration.variant`).
//
// Choices against the paper and the public implementations (RecBole-GNN `niser.py`,
// GhostAnderson/NISER `pytorch_code/model.py`), which differ from each other:
// - Item normalisation feeds both the graph (h_0 = Ê[nodes]) and the scores, as the paper says
//   and both implementations do.
// - Scores are σ · cos(s_h, e_j) with σ = 16: σ multiplies the normalised session vector, so the
//   softmax cross-entropy stays the SR-GNN one. In the nonhybrid readout s_g is normalised (the
//   GhostAnderson code normalises only the hybrid output; the paper normalises "the session
//   representation", whichever it is).
// - Position embeddings count from the session's last click (reverse position, as the paper's
//   NISER+ describes); both implementations index from the first click instead. They are added to
//   every click state before the readout, the last click's included, so h_t carries p_0 (both
//   implementations add them before taking h_t). Clicks further back than the last row share it.
// - Attention weights stay SR-GNN's α_i = q · σ(…) with no softmax (the paper keeps SR-GNN's
//   readout; GhostAnderson adds a softmax, RecBole does not).
// - Dropout (p = 0.1) acts on the normalised item embeddings fed to the graph, in training only,
//   inverted (kept values scaled by 1/(1 − p)) so inference needs no rescaling. RecBole drops before
//   normalising (which the normalisation then undoes in scale); GhostAnderson also drops the graph's
//   output; the paper names dropout on the item embeddings only.
// - `authorsCode` (`--authors-code`) switches the three places where the paper's text and the
//   GhostAnderson code differ to the code's choice: positions from the first click, a softmax over
//   each session's α (in `AttentionReadout`), and the same dropout also on the graph's output.
//   The published numbers come from that code; the option measures what the differences are worth.

/// L2 normalisation of rows, `x̂_r = x_r / max(‖x_r‖, ε)` with ε = 1e-12 (a zero row stays zero,
/// as with `F.normalize`), for the items (`[rows, d]`) and the session vectors (with a scale).
///
///     forward:   x̂ = x / ‖x‖                         (rows written to `out`, which may be `x`)
///     backward:  dx = (dx̂ − x̂ (x̂ · dx̂)) / ‖x‖      (added to or written over `dx`)
///
/// The forward keeps `1/‖x_r‖` per row for the backward. Both are TensorCore's vectorised loops.
enum RowNormalization {
    /// `out[r] = scale · x[r] / ‖x[r]‖` for the rows `rows`; `reciprocalNorms[r] = 1 / ‖x[r]‖`.
    static func forward(
        _ x: UnsafePointer<Float>, rows: Range<Int>, width d: Int, scale: Float = 1,
        into out: UnsafeMutablePointer<Float>, reciprocalNorms: UnsafeMutablePointer<Float>?, path: KernelPath
    ) {
        normalizeRows(
            x + rows.lowerBound * d, rows: rows.count, width: d, scale: scale, into: out + rows.lowerBound * d,
            reciprocalNorms: reciprocalNorms.map { $0 + rows.lowerBound }, path: path)
    }

    /// From `dNormalized` (∂L/∂x̂ of the rows `rows`) to ∂L/∂x, given `normalized` = x̂ and the
    /// forward's `1/‖x‖`: added to `dx` (`accumulate`) or written. `dx` may be `dNormalized`.
    static func backward(
        _ dNormalized: UnsafePointer<Float>, normalized: UnsafePointer<Float>,
        reciprocalNorms: UnsafePointer<Float>, rows: Range<Int>, width d: Int,
        into dx: UnsafeMutablePointer<Float>, accumulate: Bool, path: KernelPath
    ) {
        let first = rows.lowerBound
        normalizeRowsBackward(
            dNormalized + first * d, normalized: normalized + first * d, reciprocalNorms: reciprocalNorms + first,
            rows: rows.count, width: d, into: dx + first * d, accumulate: accumulate, path: path)
    }
}

/// NISER's scaled session normalisation, in place on the readout's `s_h` `[B, d]`:
///
///     forward:   s' = σ ŝ,  ŝ = s_h / ‖s_h‖         (scores = s' · ê_j = σ cos(s_h, e_j))
///     backward:  dŝ = σ ds',  ds_h = (dŝ − ŝ (ŝ · dŝ)) / ‖s_h‖
struct SessionNormalization {
    let hiddenSize: Int
    let scale: Float
    let path: KernelPath

    /// Replaces `s_h` by `σ ŝ`; keeps `1/‖s_h‖` in `workspace.sessionReciprocalNorms`.
    func forward(_ sessionEmbedding: UnsafeMutablePointer<Float>, sessions b: Int, workspace ws: SRGNNWorkspace) {
        RowNormalization.forward(
            sessionEmbedding, rows: 0..<b, width: hiddenSize, scale: scale, into: sessionEmbedding,
            reciprocalNorms: ws.sessionReciprocalNorms.pointer(b), path: path)
    }

    /// Turns `ds'` into `ds_h` in place, reading `σ ŝ` from the forward's output.
    func backward(
        _ dSessionEmbedding: UnsafeMutablePointer<Float>, scaledSessionEmbedding: UnsafePointer<Float>,
        sessions b: Int, workspace ws: SRGNNWorkspace
    ) {
        let d = hiddenSize, reciprocalNorms = ws.sessionReciprocalNorms.pointer(b)
        // ŝ · dŝ = (σ ŝ) · ds' and (dŝ − ŝ (ŝ · dŝ)) = σ ds' − (σ ŝ)((σ ŝ) · ds') / σ.
        for s in 0..<b {
            let dRow = dSessionEmbedding + s * d, scaled = scaledSessionEmbedding + s * d
            var projection: Float = 0
            for j in 0..<d { projection += scaled[j] * dRow[j] }
            let reciprocal = reciprocalNorms[s]
            for j in 0..<d { dRow[j] = (scale * dRow[j] - scaled[j] * projection / scale) * reciprocal }
        }
    }
}

/// NISER+'s position embedding `P` `[R, d]`, added to the click states `H` `[P, d]` before the
/// attention readout. Positions count back from the last click (the paper's reverse positions) or,
/// as the authors' code does, forward from the first:
///
///     forward:   H_i += P[row(i)],  row(i) = min(L − 1 − i, R − 1)   (reverse; 0 = last click)
///                                   row(i) = min(i, R − 1)           (from the first click)
///     backward:  dP[row(i)] += dH_i   (dH passes through unchanged)
struct PositionEmbedding {
    let hiddenSize: Int
    let rows: Int
    var fromFirstClick = false

    /// Row of `P` for click `i` of a session whose clicks are `first..<end`.
    @inline(__always) func row(click i: Int, first: Int, end: Int) -> Int {
        min(fromFirstClick ? i - first : end - 1 - i, rows - 1)
    }

    /// `H_i += P[row(i)]` for the clicks of `sessions`.
    func forward(_ batch: SessionBatch, sessions: Range<Int>, table: UnsafePointer<Float>, clickStates: UnsafeMutablePointer<Float>) {
        let d = hiddenSize
        for s in sessions {
            let first = Int(batch.positionOffsets[s]), end = Int(batch.positionOffsets[s + 1])
            for i in first..<end {
                let position = table + row(click: i, first: first, end: end) * d, state = clickStates + i * d
                for j in 0..<d { state[j] += position[j] }
            }
        }
    }

    func backward(_ batch: SessionBatch, dClickStates: UnsafePointer<Float>, dTable: UnsafeMutablePointer<Float>) {
        let d = hiddenSize
        for s in 0..<batch.sessionCount {
            let first = Int(batch.positionOffsets[s]), end = Int(batch.positionOffsets[s + 1])
            for i in first..<end {
                let target = dTable + row(click: i, first: first, end: end) * d, source = dClickStates + i * d
                for j in 0..<d { target[j] += source[j] }
            }
        }
    }
}

/// NISER+'s dropout on the graph's input `h_0` `[N, d]` (with the authors' code, also on its
/// output `h_T`, with a mask of its own), training only (inverted dropout):
///
///     forward:   h ← m ⊙ h,   m_k = 1/(1 − p) with probability 1 − p, else 0
///     backward:  dh ← m ⊙ dh
public enum Dropout {
    /// Draws a mask, element by element in order, from `generator`: the one way masks are made,
    /// so a test can draw the mask a training step used from the same seed.
    public static func drawMask(
        _ mask: UnsafeMutableBufferPointer<Float>, probability p: Float,
        generator: inout SeededGenerator
    ) {
        let kept = 1 / (1 - p)
        for k in mask.indices { mask[k] = generator.uniform(0, 1) < p ? 0 : kept }
    }

    /// `x ← m ⊙ x` over `count` values (forward and backward alike).
    static func apply(_ mask: UnsafePointer<Float>, to x: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count { x[k] *= mask[k] }
    }
}
