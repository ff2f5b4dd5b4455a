import SessionData
import SRGNN
import TensorCore
import Testing
import Training

/// `--loss sampled` through the model and the step (issue 31 item 1).
@Suite struct SampledTrainingTests {
    static let sessions: [[Int32]] = [[1, 2, 3], [4, 4, 5, 6], [7], [2, 9, 10, 2]]
    static let targets: [Int32] = [4, 7, 2, 11]

    /// One session whose candidates are its target, then every item once, uncorrected: the sampled
    /// loss and every gradient (the embedding's as touched rows) are the full softmax's, through
    /// the whole graph network, for SR-GNN and NISER+.
    @Test(arguments: [false, true])
    func everyItemOnceIsTheFullStep(niser: Bool) throws {
        var configuration = SRGNNConfiguration(itemCount: 12, hiddenSize: 6)
        if niser { ModelVariant.niser.configure(&configuration) }
        configuration.dropout = 0
        let model = try SRGNNModel(configuration: configuration, seed: 3)
        for (session, target) in zip(Self.sessions, Self.targets) {
            let batch = SessionBatch(sessions: [session], targets: [target])
            let ws = SRGNNWorkspace()
            var full = SRGNNParameters(zerosLike: model.parameters)
            let fullLoss = model.lossAndGradient(batch, workspace: ws, gradient: &full)

            let candidates = [target] + (1...Int32(12)).map { $0 }
            let sampledWorkspace = SampledSoftmaxWorkspace()
            var gradient = SRGNNParameters(zerosLike: model.parameters)
            var rows = EmbeddingRowGradient(embeddingRows: 13, hiddenSize: 6)
            model.forward(batch, workspace: ws)
            let loss = model.sampledLoss(
                batch, candidates: candidates, logCorrection: candidates.map { _ in 0 }, workspace: ws, sampled: sampledWorkspace)
            model.sampledBackward(
                batch, candidates: candidates, workspace: ws, sampled: sampledWorkspace, gradient: &gradient, rows: &rows)
            #expect(abs(loss - fullLoss) <= 1e-5 * max(1, abs(fullLoss)), "\(session): \(loss) vs \(fullLoss)")
            #expect(Set(rows.rows) == Set(1...Int32(12)), "every item row touched")
            for name in ParameterName.allCases where name != .embedding {
                let violation = closeness(gradient.values(of: name), full.values(of: name))
                #expect(violation == nil, "\(name.rawValue): \(String(describing: violation))")
            }
            let fullEmbedding = full.values(of: .embedding)
            for (slot, row) in rows.rows.enumerated() {
                let ours = Array(rows.values[(slot * 6)..<(slot * 6 + 6)]),
                    expected = Array(fullEmbedding[(Int(row) * 6)..<(Int(row) * 6 + 6)])
                #expect(closeness(ours, expected) == nil, "embedding row \(row)")
            }
        }
    }

    /// Largest |a − b| beyond 1e-6 + 1e-4·|b|, or nil (float32 sums in another order).
    func closeness(_ a: [Float], _ b: [Float]) -> (index: Int, ours: Float, expected: Float)? {
        for i in a.indices where abs(a[i] - b[i]) > 1e-6 + 1e-4 * abs(b[i]) { return (i, a[i], b[i]) }
        return nil
    }

    /// Lazy Adam: a sampled step leaves untouched embedding rows and their moments exactly as they
    /// were, updates the touched ones and every other tensor, and the loss falls over steps.
    @Test func aSampledStepUpdatesOnlyTouchedRows() throws {
        let items = 400
        let configuration = SRGNNConfiguration(itemCount: items, hiddenSize: 8)
        var step = TrainingStep(
            model: try SRGNNModel(configuration: configuration, seed: 5), learningRate: 1e-2, l2Penalty: 1e-5, threads: 2)
        var counts = [Int](repeating: 0, count: items)
        for target in Self.targets { counts[Int(target) - 1] += 1 }
        step.sampling = SampledLoss(targetCounts: counts, alpha: 0.75, negatives: 16, hiddenSize: 8, seed: 9)
        let before = step.model.parameters
        let firstLoss = step(prefixes: Self.sessions, targets: Self.targets)
        let touched = Set(Self.sessions.joined()).union(Self.targets).union(step.sampling!.candidates)
        let embedding = step.model.parameters.values(of: .embedding), old = before.values(of: .embedding)
        let m = step.optimizer.firstMoment.values(of: .embedding)
        for row in 0...items {
            let slice = (row * 8)..<(row * 8 + 8)
            if touched.contains(Int32(row)) {
                #expect(Array(embedding[slice]) != Array(old[slice]), "touched row \(row) updated")
            } else {
                #expect(Array(embedding[slice]) == Array(old[slice]), "untouched row \(row) unchanged")
                #expect(m[slice].allSatisfy { $0 == 0 }, "untouched row \(row): no moment")
            }
        }
        #expect(step.model.parameters.values(of: .inputWeight) != before.values(of: .inputWeight))
        var loss = firstLoss
        for _ in 0..<30 { loss = step(prefixes: Self.sessions, targets: Self.targets) }
        #expect(loss < firstLoss * 0.5, "\(firstLoss) → \(loss)")
    }
}
