import SessionData

extension BenchCommand {
    /// Real training examples from `--data`, when it is a readable dataset folder.
    func realExamples() -> (source: String, itemCount: Int, prefixes: [ArraySlice<Int32>], targets: [Int32])? {
        guard let dataset = try? SessionDataset.load(from: data) else { return nil }
        let train = dataset.train
        return ("\(data) (real)", dataset.itemCount, (0..<train.count).map { train.prefix($0) }, train.targets)
    }
}
