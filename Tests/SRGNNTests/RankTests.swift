import Testing
import SRGNN

@Suite struct RankTests {
    /// The tiled ranking equals ranks counted on the full score matrix.
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
        let scores = model.forward(SessionBatch(sessions: prefixes), workspace: SRGNNWorkspace())
        for row in 0..<prefixes.count {
            let values = scores + row * 2_500
            let expected = 1 + countGreater(values, count: 2_500, than: values[Int(targets[row]) - 1])
            #expect(Int(ranks[row]) == expected, "example \(row)")
        }
    }
}
