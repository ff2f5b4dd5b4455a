import Evaluation
import SessionData
import SRGNN
import Dispatch
import TensorCore

/// One optimisation step on one batch, with every buffer it needs kept between calls. Allocates
/// nothing once the largest batch has been seen.
public struct TrainingStep {
    public var model: SRGNNModel
    public var optimizer: Adam
    public var threads: Int
    public private(set) var gradient: SRGNNParameters
    public let workspace = SRGNNWorkspace()
    public private(set) var batch = SessionBatch()
    /// Items per score-layer tile: a tile's gradient block (400 KB at d = 100) is still in cache
    /// when Adam reads it; measured a little faster than 2,048. Tests use tiny tiles to cross borders.
    public var tileItems = 1_024
    /// Draws NISER+'s dropout masks (unused without dropout); the trainer reseeds it every epoch
    /// from the training seed, so a run and its resumption drop the same elements.
    public var dropoutGenerator: SeededGenerator
    /// Wall-clock seconds spent in each phase, summed over every call (what `srgnn bench` reports).
    public private(set) var phaseSeconds = StepPhases()
    /// Set for `--loss sampled`: the sampler and the step's sampled-softmax buffers.
    public var sampling: SampledLoss?

    public init(model: SRGNNModel, learningRate: Float, l2Penalty: Float, threads: Int, dropoutSeed: UInt64 = 0) {
        self.model = model
        self.threads = threads
        dropoutGenerator = SeededGenerator(seed: dropoutSeed)
        optimizer = Adam(for: model.parameters, configuration: model.configuration, learningRate: learningRate, l2Penalty: l2Penalty)
        gradient = SRGNNParameters(zerosLike: model.parameters)
    }

    /// Trains on one batch of (prefix, next item) examples; returns its mean loss before the update.
    ///
    /// Adam updates most embedding rows inside the score layer's backward, while each tile's
    /// gradient is in cache; the rows that backward finishes later (row 0, the batch's items) and
    /// the other tensors are updated after it. Either way each element gets `Adam.update`'s arithmetic.
    @discardableResult
    public mutating func callAsFunction<C: Collection>(prefixes: C, targets: [Int32]) -> Float
    where C.Element: Collection, C.Element.Element == Int32 {
        var clock = DispatchTime.now()
        func lap(_ phase: WritableKeyPath<StepPhases, Double>) {
            let now = DispatchTime.now()
            phaseSeconds[keyPath: phase] += Double(now.uptimeNanoseconds - clock.uptimeNanoseconds) / 1e9
            clock = now
        }
        batch.fill(sessions: prefixes, targets: targets)
        let update = optimizer.nextUpdate(path: model.kernelPath)
        lap(\.batch)
        model.forward(batch, workspace: workspace, threads: threads, dropoutGenerator: &dropoutGenerator)
        lap(\.forward)
        if var sampling {
            self.sampling = nil  // so that its buffers are changed in place, not copied
            sampling.drawCandidates(targets: targets)
            let loss = model.sampledLoss(
                batch, candidates: sampling.candidates, logCorrection: sampling.logCorrection, workspace: workspace,
                sampled: sampling.workspace)
            lap(\.loss)
            model.sampledBackward(
                batch, candidates: sampling.candidates, workspace: workspace, sampled: sampling.workspace, gradient: &gradient,
                rows: &sampling.rows, threads: threads)
            lap(\.backward)
            optimizer.apply(update, to: &model.parameters, gradient: gradient, touchedRows: sampling.rows, threads: threads)
            lap(\.update)
            self.sampling = sampling
            return loss
        }
        let loss = model.loss(batch, workspace: workspace, threads: threads, tileItems: tileItems)
        lap(\.loss)
        optimizer.withEmbeddingRowUpdate(update) { embeddingUpdate in
            model.backward(
                batch, workspace: workspace, gradient: &gradient, threads: threads, tileItems: tileItems,
                updatingEmbeddingRows: embeddingUpdate)
        }
        lap(\.backward)
        optimizer.apply(update, to: &model.parameters, gradient: gradient, embeddingRows: workspace.heldBackRows, threads: threads)
        lap(\.update)
        return loss
    }
}

/// The sampled softmax of `--loss sampled`: its sampler, the shared negatives' generator and the
/// step's buffers (candidates, their log-Q corrections, the touched embedding rows).
public struct SampledLoss {
    public let sampler: NegativeSampler
    public let negatives: Int
    /// Draws the negatives; the trainer reseeds it every epoch from the training seed, so a run and
    /// its resumption draw the same ones.
    public var generator: SeededGenerator
    public private(set) var candidates: [Int32] = []
    public private(set) var logCorrection: [Float] = []
    var rows: EmbeddingRowGradient
    let workspace = SampledSoftmaxWorkspace()

    /// `targetCounts[j − 1]`: how often item `j` is a training target.
    public init(targetCounts: [Int], alpha: Double, negatives: Int, hiddenSize: Int, seed: UInt64) {
        sampler = NegativeSampler(counts: targetCounts, alpha: alpha)
        self.negatives = negatives
        generator = SeededGenerator(seed: seed)
        rows = EmbeddingRowGradient(embeddingRows: targetCounts.count + 1, hiddenSize: hiddenSize)
    }

    /// The batch's candidates: its targets in order, then `negatives` draws; and each one's log Q.
    mutating func drawCandidates(targets: [Int32]) {
        candidates.removeAll(keepingCapacity: true)
        candidates.append(contentsOf: targets)
        for _ in 0..<negatives { candidates.append(sampler.draw(using: &generator)) }
        logCorrection.removeAll(keepingCapacity: true)
        for item in candidates { logCorrection.append(sampler.logExpectedCount(of: item, batchSize: targets.count, negatives: negatives)) }
    }
}

/// Where a training step's time goes, in seconds.
public struct StepPhases: Sendable, Equatable {
    /// Building the batch's graphs.
    public var batch = 0.0
    /// The graph network and readout (`SRGNNModel.forward`).
    public var forward = 0.0
    /// Scores, softmax and loss (`SRGNNModel.loss`).
    public var loss = 0.0
    /// The whole backward pass, with Adam on most embedding rows fused into the score layer's.
    public var backward = 0.0
    /// Adam on everything else.
    public var update = 0.0

    public init() {}

    /// Each phase's seconds since `earlier`, a reading of the same counter.
    public func since(_ earlier: StepPhases) -> StepPhases {
        var difference = StepPhases()
        difference.batch = batch - earlier.batch
        difference.forward = forward - earlier.forward
        difference.loss = loss - earlier.loss
        difference.backward = backward - earlier.backward
        difference.update = update - earlier.update
        return difference
    }
}
