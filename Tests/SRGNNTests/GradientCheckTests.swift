import Foundation
import Testing
import SRGNN
import TestSupport

/// The hand-written backward against central finite differences of an independent Double model.
@Suite struct GradientCheckTests {
    static let sessions: [[Int32]] = [[1, 2, 3, 2, 4], [5], [6, 2, 6, 2, 1, 6], [3, 3], [4, 1, 5]]
    static let targets: [Int32] = [5, 2, 3, 6, 1]

    @Test(arguments: [(1, false), (1, true), (2, false), (2, true)])
    func gradientsMatchFiniteDifferences(step: Int, nonhybrid: Bool) throws {
        let configuration = SRGNNConfiguration(itemCount: 6, hiddenSize: 3, step: step, nonhybrid: nonhybrid)
        let model = try SRGNNModel(configuration: configuration, seed: 11)
        var gradient = SRGNNParameters(zerosLike: model.parameters)
        let batch = SessionBatch(sessions: Self.sessions, targets: Self.targets)
        let loss = model.lossAndGradient(batch, workspace: SRGNNWorkspace(), gradient: &gradient)

        var reference = DoubleReferenceModel(model)
        let referenceLoss = reference.loss(sessions: Self.sessions, targets: Self.targets)
        // Float32 forward vs Double forward of the same weights: a few float32 ulps of a loss near 2.
        #expect(abs(Double(loss) - referenceLoss) < 1e-5, "loss \(loss) vs Double \(referenceLoss)")

        // Central differences in Double: truncation O(h²) ≈ 1e-12, rounding ≈ 1e-16/h ≈ 1e-10, so the
        // tolerance is set by our float32 gradient (relative error ~1e-6 over short sums):
        // 1e-5 absolute + 1e-3 relative still catches any wrong term (those are O(1) relative).
        let h = 1e-6
        for name in ParameterName.allCases {
            let analytic = gradient.tensor(name).scalars
            var numeric = [Float]()
            for index in 0..<analytic.count {
                let original = reference.values[name]![index]
                reference.values[name]![index] = original + h
                let plus = reference.loss(sessions: Self.sessions, targets: Self.targets)
                reference.values[name]![index] = original - h
                let minus = reference.loss(sessions: Self.sessions, targets: Self.targets)
                reference.values[name]![index] = original
                numeric.append(Float((plus - minus) / (2 * h)))
            }
            let violation = closenessViolation(analytic, numeric, absolute: 1e-5, relative: 1e-3)
            #expect(violation == nil, "\(name.rawValue): analytic vs numeric at \(String(describing: violation))")
            if !name.isUsed(nonhybrid: nonhybrid) { #expect(numeric.allSatisfy { $0 == 0 }) }
        }
    }
}
