import Testing
import SRGNN

@Suite struct RankTests {
    /// The tiled ranking equals ranks counted on the full score matrix, up to items whose score is
    /// within float32 rounding of the target's (the two products may round their last bit apart).
    @Test(arguments: [1, 2]) func tiledRanksMatchFullScores(threads: Int) throws {
        let configuration = SRGNNConfiguration(itemCount: 2_500, hiddenSize: 16)
        let model = try SRGNNModel(configuration: configuration, seed: 8)
        var generator = SeededGenerator(seed: 2)
        var prefixes = [[Int32]](), targets = [Int32]()
        for _ in 0..<37 {
            let length = 1 + Int(generator.next() % 6)
            prefixes.append((0..<length).map { _ in Int32(1 + generator.next() % 2_500) })
            targets.append(Int32(1 + generator.next() % 2_500))
        }
        let examples = ExampleSet(prefixes: prefixes, targets: targets)
        let ranks = model.rankTargets(examples, batchSize: 16, threads: threads, tileItems: 300)
        let workspace = SRGNNWorkspace()
        defer { withExtendedLifetime(workspace) {} }  // scores point into it
        let scores = model.forward(SessionBatch(sessions: prefixes), workspace: workspace)
        for row in 0..<prefixes.count {
            let values = scores + row * 2_500
            let target = values[Int(targets[row]) - 1]
            // A 16-term float32 dot product summed in another order: error ≲ 16 ulps of the row's scale.
            let scale = (0..<2_500).reduce(Float(0)) { max($0, abs(values[$1])) }
            let slack = 16 * Float.ulpOfOne * scale
            let best = 1 + countGreater(values, count: 2_500, than: target + slack)
            let worst = 1 + countGreater(values, count: 2_500, than: target - slack) - 1  // less the target itself
            #expect(best <= Int(ranks[row]) && Int(ranks[row]) <= max(best, worst), "example \(row): \(ranks[row]) not in \(best)...\(worst), target \(target), slack \(slack)")
        }
    }
}
