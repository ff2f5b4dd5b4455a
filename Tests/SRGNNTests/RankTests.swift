import SessionData
import SRGNN
import TensorCore
import Testing

@Suite struct RankTests {
    /// The tiled ranking equals ranks counted on the full score matrix, up to items whose score is
    /// within float32 rounding of the target's (the two products may round their last bit apart).
    /// Tiles of 300 and 7 items leave a partial last tile.
    @Test(arguments: [(1, 300), (2, 300), (2, 7)], ScoreKernels.supportedPaths)
    func tiledRanksMatchFullScores(_ tiling: (threads: Int, tileItems: Int), kernel: KernelPath) throws {
        try tiledRanksMatchFullScores(threads: tiling.threads, tileItems: tiling.tileItems, kernel: kernel)
    }

    /// Items packed once give the very ranks that packing per call gives, on every path with
    /// panels; tiles of 7 items do not start on panels, so ranking falls back to packing per call.
    @Test(arguments: [(1, 1_024), (2, 320), (2, 7)], ScoreKernels.supportedPaths.filter { $0 != .blas })
    func packedItemsGiveTheSameRanks(_ tiling: (threads: Int, tileItems: Int), kernel: KernelPath) throws {
        do {
            var model = try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 2_500, hiddenSize: 19), seed: 4)
            model.kernelPath = kernel
            var generator = SeededGenerator(seed: 6)
            var prefixes = [[Int32]](), targets = [Int32]()
            for _ in 0..<29 {
                prefixes.append((0..<(1 + Int(generator.next() % 5))).map { _ in Int32(1 + generator.next() % 2_500) })
                targets.append(Int32(1 + generator.next() % 2_500))
            }
            let batch = SessionBatch(sessions: prefixes, targets: targets)
            let packed = try #require(PackedItemEmbedding(model))
            var unpackedRanks = [Int32](repeating: 0, count: prefixes.count), packedRanks = unpackedRanks
            model.ranks(batch, workspace: SRGNNWorkspace(), threads: tiling.threads, tileItems: tiling.tileItems, into: &unpackedRanks)
            model.ranks(
                batch, workspace: SRGNNWorkspace(), threads: tiling.threads, tileItems: tiling.tileItems, packedItems: packed,
                into: &packedRanks)
            #expect(packedRanks == unpackedRanks)
            #expect(unpackedRanks.allSatisfy { 1...2_500 ~= $0 })
        }
    }

    func tiledRanksMatchFullScores(threads: Int, tileItems: Int, kernel: KernelPath) throws {
        let configuration = SRGNNConfiguration(itemCount: 2_500, hiddenSize: 16)
        var model = try SRGNNModel(configuration: configuration, seed: 8)
        model.kernelPath = kernel
        var generator = SeededGenerator(seed: 2)
        var prefixes = [[Int32]](), targets = [Int32]()
        for _ in 0..<37 {
            let length = 1 + Int(generator.next() % 6)
            prefixes.append((0..<length).map { _ in Int32(1 + generator.next() % 2_500) })
            targets.append(Int32(1 + generator.next() % 2_500))
        }
        var ranks = [Int32](repeating: 0, count: prefixes.count)
        model.ranks(
            SessionBatch(sessions: prefixes, targets: targets), workspace: SRGNNWorkspace(), threads: threads,
            tileItems: tileItems, into: &ranks)
        var allScores = [Float](repeating: .nan, count: prefixes.count * 2_500)
        model.scores(SessionBatch(sessions: prefixes), workspace: SRGNNWorkspace(), threads: threads, into: &allScores)
        for row in 0..<prefixes.count {
            let values = Array(allScores[(row * 2_500)..<((row + 1) * 2_500)])
            let target = values[Int(targets[row]) - 1]
            // A 16-term float32 dot product summed in another order: error ≲ 16 ulps of the row's scale.
            let scale = (0..<2_500).reduce(Float(0)) { max($0, abs(values[$1])) }
            let slack = 16 * Float.ulpOfOne * scale
            let best = 1 + countGreater(values, count: 2_500, than: target + slack)
            let worst = 1 + countGreater(values, count: 2_500, than: target - slack) - 1  // less the target itself
            #expect(
                best <= Int(ranks[row]) && Int(ranks[row]) <= max(best, worst),
                "example \(row): \(ranks[row]) not in \(best)...\(worst), target \(target), slack \(slack)")
        }
    }
}
