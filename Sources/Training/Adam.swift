import Evaluation
import Foundation
import SRGNN
import TensorCore

/// Adam with PyTorch's semantics (`torch.optim.Adam`, its `weight_decay` as the classic L2 penalty λ):
///
///     g ← ∇ + λ θ
///     m ← β1 m + (1 − β1) g            v ← β2 v + (1 − β2) g²
///     θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
///
/// Moments have the parameters' own layout, so one flat loop updates the whole model. Tensors
/// that the forward pass does not use (the nonhybrid model's `linear_transform`) get no gradient
/// in PyTorch and so are left untouched here too.
public struct Adam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// λ, the L2 penalty added to the gradient (PyTorch's `weight_decay`, the reference's `--l2`).
    public var l2Penalty: Float
    /// Number of training steps taken (PyTorch's `state['step']`).
    public private(set) var stepCount = 0
    public var firstMoment: SRGNNParameters
    public var secondMoment: SRGNNParameters
    /// Ranges of the flat buffer that are updated.
    let updatedRanges: [Range<Int>]
    /// The updated ranges without the embedding (which `TrainingStep` updates row by row).
    let nonEmbeddingRanges: [Range<Int>]

    public init(
        for parameters: SRGNNParameters, configuration: SRGNNConfiguration, learningRate: Float = 1e-3,
        l2Penalty: Float = 1e-5
    ) {
        self.learningRate = learningRate
        self.l2Penalty = l2Penalty
        firstMoment = SRGNNParameters(zerosLike: parameters)
        secondMoment = SRGNNParameters(zerosLike: parameters)
        var ranges = [Range<Int>]()
        for name in ParameterName.allCases where name.isUsed(by: configuration) {
            let range = parameters.range(of: name)
            if let last = ranges.last, last.upperBound == range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
            } else {
                ranges.append(range)
            }
        }
        updatedRanges = ranges
        let embeddingEnd = parameters.range(of: .embedding).upperBound
        nonEmbeddingRanges = ranges.compactMap { range in
            let rest = max(range.lowerBound, embeddingEnd)..<max(range.upperBound, embeddingEnd)
            return rest.isEmpty ? nil : rest
        }
    }

    /// Restores a saved optimizer state (for resuming).
    public mutating func restore(stepCount: Int, firstMoment: SRGNNParameters, secondMoment: SRGNNParameters) {
        self.stepCount = stepCount
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }

    /// One update of `parameters` from `gradient` (the loss gradient, without weight decay).
    public mutating func update(
        _ parameters: inout SRGNNParameters, gradient: SRGNNParameters, threads: Int = 1, path: KernelPath = ScoreKernels.defaultPath
    ) {
        let update = nextUpdate(path: path)
        apply(update, to: &parameters, gradient: gradient, ranges: updatedRanges, threads: threads)
    }

    /// Counts a training step and returns its update's constants; the caller applies them to every updated tensor
    /// (`TrainingStep`: through `withEmbeddingRowUpdate`, then `apply(_:to:gradient:embeddingRows:threads:)`).
    /// `path` is the instruction set of the update loop (the model's `kernelPath`).
    public mutating func nextUpdate(path: KernelPath) -> AdamUpdate {
        stepCount += 1
        // Bias corrections in Double, as PyTorch computes them in Python floats.
        let correction1 = 1 - pow(Double(beta1), Double(stepCount))
        let correction2 = 1 - pow(Double(beta2), Double(stepCount))
        return AdamUpdate(
            beta1: beta1, beta2: beta2, epsilon: epsilon, l2Penalty: l2Penalty,
            correctedRate: Float(Double(learningRate) / correction1),
            correction2Root: Float(correction2.squareRoot()), path: path)
    }
}

/// One Adam update's constants, applied to any slice of the parameters.
public struct AdamUpdate: Sendable {
    public let beta1, beta2, epsilon, l2Penalty: Float
    /// lr / (1 − β1^t), and √(1 − β2^t).
    public let correctedRate, correction2Root: Float
    /// The instruction set of the update loop, carried to every worker thread that applies it.
    public let path: KernelPath

    /// Updates `count` parameters with their gradient and moments.
    @inlinable
    public func apply(
        _ theta: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, firstMoment m: UnsafeMutablePointer<Float>,
        secondMoment v: UnsafeMutablePointer<Float>, count: Int
    ) {
        adamUpdate(
            theta, gradient: gradient, firstMoment: m, secondMoment: v, count: count, beta1: beta1, beta2: beta2,
            epsilon: epsilon, l2Penalty: l2Penalty, correctedRate: correctedRate, correction2Root: correction2Root, path: path)
    }
}

extension Adam {
    /// Runs `body` with a hook that applies `update` to embedding rows as the score layer hands
    /// them over (`SRGNNModel.backward(…updatingEmbeddingRows:)`).
    public mutating func withEmbeddingRowUpdate<R>(_ update: AdamUpdate, _ body: (EmbeddingRowUpdate) throws -> R) rethrows -> R {
        let d = firstMoment.hiddenSize
        return try firstMoment.withMutablePointers { m in
            try secondMoment.withMutablePointers { v in
                // Workers get disjoint rows, so they write disjoint moments.
                nonisolated(unsafe) let m = m.embedding, v = v.embedding
                return try body(
                    EmbeddingRowUpdate { rows, theta, gradient in
                        let offset = rows.lowerBound * d
                        update.apply(theta, gradient: gradient, firstMoment: m + offset, secondMoment: v + offset, count: rows.count * d)
                    })
            }
        }
    }

    /// Applies `update` to the given embedding rows and to every other updated tensor: the rest of
    /// a step whose embedding rows went through `withEmbeddingRowUpdate`.
    public mutating func apply(
        _ update: AdamUpdate, to parameters: inout SRGNNParameters, gradient: SRGNNParameters,
        embeddingRows: [Int32], threads: Int
    ) {
        let d = parameters.hiddenSize
        let nonEmbeddingRanges = self.nonEmbeddingRanges
        withBuffers(&parameters, gradient) { theta, grad, m, v in
            for row in embeddingRows {
                let i = Int(row) * d
                update.apply(theta + i, gradient: grad + i, firstMoment: m + i, secondMoment: v + i, count: d)
            }
            Adam.apply(update, ranges: nonEmbeddingRanges, theta, grad, m, v, threads: threads)
        }
    }

    /// Lazy Adam (TensorFlow's LazyAdam, PyTorch's SparseAdam) for a sampled step: the embedding
    /// rows the step touched get `update` with their gradient from `rows`; the other rows, and
    /// their moments, are left as they are (no decay of an untouched row's moments, no L2 on it).
    /// Every other tensor is updated as in a full step.
    public mutating func apply(
        _ update: AdamUpdate, to parameters: inout SRGNNParameters, gradient: SRGNNParameters,
        touchedRows rows: EmbeddingRowGradient, threads: Int
    ) {
        let d = parameters.hiddenSize
        let nonEmbeddingRanges = self.nonEmbeddingRanges
        withBuffers(&parameters, gradient) { theta, grad, m, v in
            rows.values.withUnsafeBufferPointer { values in
                for (slot, row) in rows.rows.enumerated() {
                    let i = Int(row) * d
                    update.apply(theta + i, gradient: values.baseAddress! + slot * d, firstMoment: m + i, secondMoment: v + i, count: d)
                }
            }
            Adam.apply(update, ranges: nonEmbeddingRanges, theta, grad, m, v, threads: threads)
        }
    }

    /// Applies `update` to `ranges` of the flat buffer, split over `threads`.
    mutating func apply(
        _ update: AdamUpdate, to parameters: inout SRGNNParameters, gradient: SRGNNParameters, ranges: [Range<Int>], threads: Int
    ) {
        withBuffers(&parameters, gradient) { Adam.apply(update, ranges: ranges, $0, $1, $2, $3, threads: threads) }
    }

    private static func apply(
        _ update: AdamUpdate, ranges: [Range<Int>], _ theta: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>,
        _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, threads: Int
    ) {
        for range in ranges {
            parallelChunks(range.count, threads: threads, minimumPerThread: 1 << 16) { chunk in
                let i = range.lowerBound + chunk.lowerBound
                update.apply(theta + i, gradient: grad + i, firstMoment: m + i, secondMoment: v + i, count: chunk.count)
            }
        }
    }

    /// Runs `body` with the flat buffers of parameters, gradient and both moments.
    private mutating func withBuffers(
        _ parameters: inout SRGNNParameters, _ gradient: SRGNNParameters,
        _ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) {
        parameters.storage.withUnsafeMutableBufferPointer { theta in
            gradient.storage.withUnsafeBufferPointer { grad in
                firstMoment.storage.withUnsafeMutableBufferPointer { m in
                    secondMoment.storage.withUnsafeMutableBufferPointer { v in
                        body(theta.baseAddress!, grad.baseAddress!, m.baseAddress!, v.baseAddress!)
                    }
                }
            }
        }
    }
}

/// Step decay of the learning rate: `lr_e = lr · factor^⌊s / interval⌋`.
///
/// The reference calls `scheduler.step()` at the *start* of every epoch, before training it, so
/// epoch index `e` (0-based) trains with `s = e + 1`: the first decay takes effect in the third
/// epoch (index 2), not the fourth. `referenceTiming = false` gives the textbook schedule
/// (`s = e`, first decay at index 3). We default to the reference's timing, for parity.
public struct StepDecay: Codable, Sendable, Equatable {
    public var initialRate: Float
    /// Epochs between decays (PyTorch's `step_size`).
    public var interval: Int
    /// Multiplier at each decay (PyTorch's `gamma`).
    public var factor: Float
    public var referenceTiming: Bool

    public init(initialRate: Float = 1e-3, interval: Int = 3, factor: Float = 0.1, referenceTiming: Bool = true) {
        self.initialRate = initialRate
        self.interval = interval
        self.factor = factor
        self.referenceTiming = referenceTiming
    }

    /// Learning rate used while training epoch `epoch` (0-based).
    public func rate(epoch: Int) -> Float {
        let schedulerSteps = referenceTiming ? epoch + 1 : epoch
        return initialRate * Float(pow(Double(factor), Double(schedulerSteps / interval)))
    }
}
