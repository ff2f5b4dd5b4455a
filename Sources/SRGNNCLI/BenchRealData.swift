extension BenchCommand {
    /// Real training examples, once dataset folders can be read.
    func realExamples() -> (source: String, itemCount: Int, prefixes: [ArraySlice<Int32>], targets: [Int32])? { nil }
}
