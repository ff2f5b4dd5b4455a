import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// The hand-written backward against central finite differences of an independent Double model.
@Suite struct GradientCheckTests {
    static let sessions: [[Int32]] = [[1, 2, 3, 2, 4], [5], [6, 2, 6, 2, 1, 6], [3, 3], [4, 1, 5]]
    static let targets: [Int32] = [5, 2, 3, 6, 1]

    /// How the backward pass runs: adding into a gradient that already holds values, overwriting
    /// one full of garbage, or overwriting with the embedding rows handed to a fused-update hook.
    /// Tiles of 2 and 4 items cut the 6 items into several tiles (one of them partial).
    enum Pass: CaseIterable, CustomTestStringConvertible {
        case accumulate, overwrite, fused
        var testDescription: String { "\(self)" }
    }

    static let cases: [(propagationSteps: Int, nonhybrid: Bool, tileItems: Int, pass: Pass)] =
        [
            (1, false, 1_024, .accumulate), (1, true, 1_024, .accumulate), (2, false, 1_024, .accumulate), (2, true, 1_024, .accumulate),
            (1, false, 2, .accumulate), (2, false, 4, .overwrite), (1, true, 2, .overwrite), (2, false, 2, .fused), (1, false, 4, .fused),
        ]

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ testCase: (propagationSteps: Int, nonhybrid: Bool, tileItems: Int, pass: Pass)) throws {
        let configuration = SRGNNConfiguration(
            itemCount: 6, hiddenSize: 3, propagationSteps: testCase.propagationSteps,
            nonhybrid: testCase.nonhybrid)
        var model = try SRGNNModel(configuration: configuration, seed: 11)
        let batch = SessionBatch(sessions: Self.sessions, targets: Self.targets)
        let workspace = SRGNNWorkspace()
        var reference = DoubleReferenceModel(model)
        let referenceLoss = reference.loss(sessions: Self.sessions, targets: Self.targets)
        // Every score-kernel path this machine runs, against one set of finite differences.
        var analyticGradients = [KernelPath: SRGNNParameters]()
        for kernel in ScoreKernels.supportedPaths {
            model.kernelPath = kernel
            do {
                analyticGradients[kernel] = try Self.analyticGradient(
                    &model, batch, workspace, tileItems: testCase.tileItems,
                    pass: testCase.pass)
                let loss = model.loss(batch, workspace: workspace, tileItems: testCase.tileItems)
                // Float32 forward vs Double forward of the same weights: a few float32 ulps of a loss near 2.
                #expect(abs(Double(loss) - referenceLoss) < 1e-5, "\(kernel): loss \(loss) vs Double \(referenceLoss)")
            }
        }

        // Central differences in Double are exact to ~1e-10 (see `centralDifferences`), so the
        // tolerance is set by our float32 gradient (relative error ~1e-6 over short sums):
        // 1e-5 absolute + 1e-3 relative still catches any wrong term (those are O(1) relative).
        for name in ParameterName.allCases {
            let numeric = reference.centralDifferences(of: name, sessions: Self.sessions, targets: Self.targets)
            for (kernel, analyticGradient) in analyticGradients {
                let violation = closenessViolation(analyticGradient.values(of: name), numeric, absolute: 1e-5, relative: 1e-3)
                #expect(violation == nil, "\(kernel) \(name.rawValue): analytic vs numeric at \(String(describing: violation))")
            }
            if !name.isUsed(nonhybrid: testCase.nonhybrid) { #expect(numeric.allSatisfy { $0 == 0 }) }
        }
    }

    /// The loss gradient as `pass` produces it. Accumulate starts from known values and subtracts
    /// them; overwrite starts from garbage; fused collects the rows the hook receives (leaving the
    /// weights alone) and takes the held-back rows from the gradient buffer. With `dropoutSeed`,
    /// the training forward draws its dropout mask from that seed.
    static func analyticGradient(
        _ model: inout SRGNNModel, _ batch: SessionBatch, _ workspace: SRGNNWorkspace,
        tileItems: Int, pass: Pass, dropoutSeed: UInt64? = nil
    ) throws -> SRGNNParameters {
        var gradient = SRGNNParameters(zerosLike: model.parameters)
        for i in gradient.storage.indices { gradient.storage[i] = Float(i % 5) - 2 }
        let initial = gradient
        if let dropoutSeed {
            var generator = SeededGenerator(seed: dropoutSeed)
            model.forward(batch, workspace: workspace, dropoutGenerator: &generator)
        } else {
            model.forward(batch, workspace: workspace)
        }
        _ = model.loss(batch, workspace: workspace, tileItems: tileItems)
        switch pass {
        case .accumulate:
            model.backward(batch, workspace: workspace, gradient: &gradient, mode: .accumulate, tileItems: tileItems)
            for i in gradient.storage.indices { gradient.storage[i] -= initial.storage[i] }
            return gradient
        case .overwrite:
            model.backward(batch, workspace: workspace, gradient: &gradient, mode: .overwrite, tileItems: tileItems)
            return gradient
        case .fused:
            let d = model.configuration.hiddenSize, rows = model.configuration.embeddingRows
            let weightsBefore = model.parameters
            let handed = HandedRows(count: rows * d)
            model.backward(
                batch, workspace: workspace, gradient: &gradient, tileItems: tileItems,
                updatingEmbeddingRows: EmbeddingRowUpdate { range, _, rowGradient in handed.record(range, rowGradient, d) })
            #expect(model.parameters == weightsBefore, "a hook that writes nothing leaves the weights alone")
            let heldBack = Set(workspace.heldBackRows.map(Int.init))
            #expect(heldBack == Set([0] + batch.nodeItems.map(Int.init)))
            let embedding = gradient.range(of: .embedding)
            for row in 0..<rows {
                let wasHanded = handed.rows.contains(row)
                #expect(wasHanded != heldBack.contains(row), "row \(row) must be handed over exactly when not held back")
                if wasHanded {
                    for j in 0..<d { gradient.storage[embedding.lowerBound + row * d + j] = handed.values[row * d + j] }
                }
            }
            return gradient
        }
    }
}

/// Rows a fused-update hook received, with their gradients (the hook runs on several workers).
final class HandedRows: @unchecked Sendable {
    // @unchecked: the workers get disjoint rows; `lock` guards `rows`.
    private let lock = NSLock()
    private(set) var rows = Set<Int>()
    private(set) var values: [Float]

    init(count: Int) { values = [Float](repeating: .nan, count: count) }

    func record(_ range: Range<Int>, _ gradient: UnsafePointer<Float>, _ d: Int) {
        lock.withLock {
            for (offset, row) in range.enumerated() {
                precondition(rows.insert(row).inserted, "row \(row) handed over twice")
                for j in 0..<d { values[row * d + j] = gradient[offset * d + j] }
            }
        }
    }
}
