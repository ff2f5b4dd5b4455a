import CKernels
import Foundation

// Every face below takes the kernel path (`KernelPath`) whose copy of the C loop runs: the model's
// or optimizer's own path, passed to every worker of a region as the products take it, so that
// `SRGNN_KERNEL` and the every-path tests switch every loop.

/// The gated graph cell's gates, row by row (`srgnn_gru_gates`): from `gi`, `gh` `[rows, 3·width]`
/// and their biases,
///
///     r = σ(gi_r + b_ih,r + gh_r + b_hh,r)   z = σ(gi_z + b_ih,z + gh_z + b_hh,z)
///     c = tanh(gi_c + b_ih,c + r ⊙ (gh_c + b_hh,c))   next = c + z ⊙ (h − c)
///
/// and `gates` `[rows, 4·width]` = `(r, z, c, gh_c + b_hh,c)`, vectorised.
@inlinable
public func gruGates(
    inputGates gi: UnsafePointer<Float>, hiddenGates gh: UnsafePointer<Float>, inputBias: UnsafePointer<Float>,
    hiddenBias: UnsafePointer<Float>, hidden h: UnsafePointer<Float>, rows: Int, width: Int,
    next: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>, path: KernelPath
) {
    srgnn_gru_gates(path.loopKernel, gi, gh, inputBias, hiddenBias, h, Int64(rows), Int64(width), next, gates)
}

/// Backward of `gruGates` for `rows` nodes (`srgnn_gru_gates_backward`): from the kept `gates`
/// `[rows, 4·width]`, `hidden` and `dNext` `[rows, width]`, the gradients of gi and gh
/// `[rows, 3·width]` and `dHidden = dNext ⊙ z`; each element by the same operations as in Swift.
@inlinable
public func gruGatesBackward(
    gates: UnsafePointer<Float>, hidden h: UnsafePointer<Float>, dNext: UnsafePointer<Float>, rows: Int,
    width: Int, dInputGates: UnsafeMutablePointer<Float>, dHiddenGates: UnsafeMutablePointer<Float>,
    dHidden: UnsafeMutablePointer<Float>, path: KernelPath
) {
    srgnn_gru_gates_backward(path.loopKernel, gates, h, dNext, Int64(rows), Int64(width), dInputGates, dHiddenGates, dHidden)
}

/// The attention readout's activation of one click, in place: `row ← σ(query + row + bias)`;
/// returns `Σ_j row[j] · vector[j]`, the click's coefficient (vectorised, lanes summed reassociated).
@inlinable
public func attentionActivation(
    query: UnsafePointer<Float>, row: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
    vector: UnsafePointer<Float>, width: Int, path: KernelPath
) -> Float {
    srgnn_attention_activation(path.loopKernel, query, row, bias, vector, Int64(width))
}

/// The attention readout's backward for one click: `dClickState += coefficient · dGlobal`; returns
/// `Σ_j dGlobal[j] · clickState[j]`, the click's dα (vectorised, lanes summed reassociated).
@inlinable
public func attentionClickBackward(
    dGlobal: UnsafePointer<Float>, clickState: UnsafePointer<Float>, coefficient: Float,
    adding dClickState: UnsafeMutablePointer<Float>, width: Int, path: KernelPath
) -> Float {
    srgnn_attention_click_backward(path.loopKernel, dGlobal, clickState, coefficient, dClickState, Int64(width))
}

/// The attention readout's backward through σ for one click: `dPre = dα · q ⊙ σ ⊙ (1 − σ)`, and
/// `dq1 += dPre` (one vectorised C loop, each element as written, left to right).
@inlinable
public func attentionPreBackward(
    dCoefficient: Float, vector: UnsafePointer<Float>, sigmoid: UnsafePointer<Float>,
    into dPre: UnsafeMutablePointer<Float>, adding dq1: UnsafeMutablePointer<Float>, width: Int,
    path: KernelPath
) {
    srgnn_attention_pre_backward(path.loopKernel, dCoefficient, vector, sigmoid, dPre, dq1, Int64(width))
}

/// `destination[j] = source[j]` for `j < count` by non-temporal stores, which do not first read
/// the destination's cache lines from memory; fenced, so that a thread that synchronises with
/// this one afterwards sees the values. The two do not overlap.
@inlinable
public func streamCopy(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutablePointer<Float>, path: KernelPath) {
    srgnn_stream_copy(path.loopKernel, destination, source, Int64(count))
}

/// `y[i, :] += bias` for every row of a `[rows, width]` matrix.
@inlinable
public func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: UnsafePointer<Float>, path: KernelPath) {
    srgnn_add_bias(path.loopKernel, y, Int64(rows), Int64(width), Int64(width), bias)
}

/// `sums += Σ_rows dy[row, :]`, rows added in order (rows of dy `stride` apart, `width` by
/// default): the backward of `addBias`, and any sum of parts that must not depend on who made them.
@inlinable
public func addColumnSums(
    _ dy: UnsafePointer<Float>, rows: Int, width: Int, stride: Int? = nil,
    into sums: UnsafeMutablePointer<Float>, path: KernelPath
) {
    srgnn_add_column_sums(path.loopKernel, dy, Int64(rows), Int64(width), Int64(stride ?? width), sums)
}

/// Row gather `out[i, :] = table[indices[i], :]` for a `[_, width]` table.
@inlinable
public func gatherRows(
    _ table: UnsafePointer<Float>, width: Int, indices: UnsafeBufferPointer<Int32>,
    into out: UnsafeMutablePointer<Float>
) {
    for (i, index) in indices.enumerated() {
        (out + i * width).update(from: table + Int(index) * width, count: width)
    }
}

/// Backward of `gatherRows`: `dTable[indices[i], :] += dOut[i, :]` (repeated indices add up).
@inlinable
public func scatterAddRows(
    _ dOut: UnsafePointer<Float>, width: Int, indices: UnsafeBufferPointer<Int32>,
    into dTable: UnsafeMutablePointer<Float>, path: KernelPath
) {
    srgnn_scatter_add_rows(path.loopKernel, dOut, Int64(width), indices.baseAddress, Int64(indices.count), dTable)
}

/// `x ← e^(x − max x)` in place over `count` values; returns their sum and sets `maximum` to max x
/// (one vectorised C loop).
@inlinable
public func expShiftSum(_ x: UnsafeMutablePointer<Float>, count: Int, maximum: inout Float, path: KernelPath) -> Float {
    srgnn_exp_shift_sum(path.loopKernel, x, Int64(count), &maximum)
}

/// Row-wise L2 normalisation, `out[r] = scale · x[r] / max(‖x[r]‖, 1e-12)` for `rows` rows of
/// `width` (`out` may be `x`); `reciprocalNorms[r] = 1 / max(‖x[r]‖, 1e-12)` when given. One
/// vectorised C loop whose row sums are the same bits for a row alone or among others.
@inlinable
public func normalizeRows(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, scale: Float = 1, into out: UnsafeMutablePointer<Float>,
    reciprocalNorms: UnsafeMutablePointer<Float>?, path: KernelPath
) {
    srgnn_normalize_rows(path.loopKernel, x, Int64(rows), Int64(width), scale, out, reciprocalNorms)
}

/// Backward of `normalizeRows` (scale 1): `dx[r] (+)= (dx̂[r] − x̂[r] (x̂[r] · dx̂[r])) / ‖x[r]‖`,
/// given `normalized` = x̂ and the forward's reciprocal norms; `dx` may be `dNormalized`.
@inlinable
public func normalizeRowsBackward(
    _ dNormalized: UnsafePointer<Float>, normalized: UnsafePointer<Float>,
    reciprocalNorms: UnsafePointer<Float>, rows: Int, width: Int,
    into dx: UnsafeMutablePointer<Float>, accumulate: Bool, path: KernelPath
) {
    srgnn_normalize_rows_backward(
        path.loopKernel, dNormalized, normalized, reciprocalNorms, Int64(rows), Int64(width), dx, accumulate ? 1 : 0)
}

/// One Adam update of `count` elements, PyTorch's arithmetic (one vectorised C loop):
/// `g = ∇ + λθ; m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²; θ ← θ − correctedRate · m / (√v / correction2Root + ε)`.
@inlinable
public func adamUpdate(
    _ theta: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, firstMoment m: UnsafeMutablePointer<Float>,
    secondMoment v: UnsafeMutablePointer<Float>, count: Int, beta1: Float, beta2: Float, epsilon: Float,
    l2Penalty: Float, correctedRate: Float, correction2Root: Float, path: KernelPath
) {
    srgnn_adam(path.loopKernel, theta, gradient, m, v, Int64(count), beta1, beta2, epsilon, l2Penalty, correctedRate, correction2Root)
}

/// Number of `values[0..<count]` strictly greater than `threshold`: a target's rank minus one
/// (exact on every path; `path` only picks the loop's instruction set).
@inlinable
public func countGreater(
    _ values: UnsafePointer<Float>, count: Int, than threshold: Float,
    path: KernelPath = ScoreKernels.defaultPath
) -> Int {
    Int(srgnn_count_greater(path.loopKernel, values, Int64(count), threshold))
}

/// `topK` of several rows whose values arrive in pieces, each row's pieces in index order: the
/// same indices and values as `topK` over the whole row, without the row ever being stored.
public struct RunningTopK {
    public let rows: Int
    public let k: Int
    /// The instruction set of the selection's loops (the result is the same on every path).
    public let path: KernelPath
    private var indices: [Int64]
    private var best: [Float]
    private var sizes: [Int64]

    public init(rows: Int, k: Int, path: KernelPath = ScoreKernels.defaultPath) {
        precondition(rows >= 0 && k >= 0)
        self.rows = rows
        self.k = k
        self.path = path
        indices = [Int64](repeating: 0, count: rows * k)
        best = [Float](repeating: 0, count: rows * k)
        sizes = [Int64](repeating: 0, count: rows)
    }

    /// Adds `values[0..<count]`, the row's values at indices `first..<first + count`; with
    /// `allowed`, only those of the indices it holds.
    public mutating func add(row: Int, _ values: UnsafePointer<Float>, count: Int, first: Int, allowed: ItemMask? = nil) {
        let k = self.k, kernel = path.loopKernel
        indices.withUnsafeMutableBufferPointer { indices in
            best.withUnsafeMutableBufferPointer { best in
                sizes.withUnsafeMutableBufferPointer { sizes in
                    let (indices, best, size) = (indices.baseAddress! + row * k, best.baseAddress! + row * k, sizes.baseAddress! + row)
                    if let allowed {
                        precondition(first + count <= allowed.count, "the mask covers \(allowed.count) items")
                        allowed.words.withUnsafeBufferPointer { words in
                            srgnn_top_k_add_masked(values, Int64(count), Int64(first), words.baseAddress!, Int64(k), indices, best, size)
                        }
                    } else {
                        srgnn_top_k_add(kernel, values, Int64(count), Int64(first), Int64(k), indices, best, size)
                    }
                }
            }
        }
    }

    /// Adds a tile to rows `rows`, in one C call: row `r`'s values at indices `first..<first + count`
    /// start at `values + (r − rows.lowerBound) · stride`.
    public mutating func add(rows: Range<Int>, _ values: UnsafePointer<Float>, stride: Int, count: Int, first: Int) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= self.rows)
        let k = self.k, kernel = path.loopKernel
        indices.withUnsafeMutableBufferPointer { indices in
            best.withUnsafeMutableBufferPointer { best in
                sizes.withUnsafeMutableBufferPointer { sizes in
                    let r = rows.lowerBound
                    srgnn_top_k_add_rows(
                        kernel, values, Int64(rows.count), Int64(count), Int64(stride), Int64(first), Int64(k),
                        indices.baseAddress! + r * k, best.baseAddress! + r * k, sizes.baseAddress! + r)
                }
            }
        }
    }

    /// The row's best `k` (fewer if fewer values came), best first; ties to the lower index.
    public mutating func ranked(row: Int) -> [(index: Int, value: Float)] {
        let k = self.k, size = Int(sizes[row])
        indices.withUnsafeMutableBufferPointer { indices in
            best.withUnsafeMutableBufferPointer { best in
                srgnn_top_k_sort(indices.baseAddress! + row * k, best.baseAddress! + row * k, Int64(size))
            }
        }
        sizes[row] = 0
        return (0..<size).map { (Int(indices[row * k + $0]), best[row * k + $0]) }
    }
}

/// Indices of the `k` largest values of `values[0..<count]`, best first; ties go to the lower
/// index. With `allowed`, only the indices it holds (index `j` is item `j + 1`) are candidates,
/// selected inside the heap pass rather than by fetching more and dropping. The same on every
/// `path` (which only picks the loops' instruction set).
public func topK(
    _ values: UnsafePointer<Float>, count: Int, k: Int, allowed: ItemMask? = nil,
    path: KernelPath = ScoreKernels.defaultPath
) -> [Int] {
    precondition(allowed.map { $0.count == count } ?? true, "the mask covers \(allowed?.count ?? 0) items, the scores \(count)")
    let k = min(k, allowed?.allowedCount ?? count)
    if k <= 0 { return [] }
    // The running best values live on the heap: k comes from the caller (a request's k).
    var best = [Float](repeating: 0, count: k)
    return best.withUnsafeMutableBufferPointer { best in
        [Int](unsafeUninitializedCapacity: k) { buffer, initialized in
            buffer.withMemoryRebound(to: Int64.self) { indices in
                if let allowed {
                    initialized = allowed.words.withUnsafeBufferPointer { words in
                        Int(srgnn_top_k_masked(values, Int64(count), words.baseAddress!, Int64(k), indices.baseAddress!, best.baseAddress!))
                    }
                } else {
                    initialized = Int(srgnn_top_k(path.loopKernel, values, Int64(count), Int64(k), indices.baseAddress!, best.baseAddress!))
                }
            }
        }
    }
}
