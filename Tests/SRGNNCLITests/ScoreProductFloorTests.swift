@testable import SRGNNCLI
import TensorCore
import Testing

/// The bench's floor, now beside the bench: it times our best kernel, and BLAS only in a build
/// that links it, and keeps the faster.
@Suite struct ScoreProductFloorTests {
    @Test func calibratesTheCandidatesThisBuildHas() {
        let floor = ScoreProductFloor(itemCount: 2_500, batchSize: 3, hiddenSize: 10, threads: 2)
        let seconds = floor.calibrate(rounds: 1)
        let expected: Set<KernelPath> = BLASInfo.isLinked && ScoreKernels.best != .blas ? [ScoreKernels.best, .blas] : [ScoreKernels.best]
        #expect(Set(seconds.keys) == expected)
        #expect(seconds.values.allSatisfy { $0 > 0 })
        #expect(expected.contains(floor.path))
        #expect(floor.run() > 0)
    }
}
