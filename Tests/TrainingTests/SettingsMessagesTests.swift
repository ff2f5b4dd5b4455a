import Experiments
import Foundation
import SessionData
import SRGNN
import Testing
import Training

/// Issue 29, items 15 and 16: settings files say what is wrong with them, and a grid search never
/// builds its product.
@Suite struct SettingsMessagesTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test(
        "16: an empty 'data:' is an error at its line, not an empty dataset path",
        arguments: [
            (
                "data:\nhidden-size: 8\n",
                "run.yaml:1: 'data': expected the dataset folder's path, got no value (nothing after the colon, or null)"
            ),
            (
                "hidden-size: 8\ndata: ~\n",
                "run.yaml:2: 'data': expected the dataset folder's path, got no value (nothing after the colon, or null)"
            ),
            ("data: \"\"\n", "run.yaml:1: 'data': expected the dataset folder's path, got an empty string"),
            ("hidden-size:\n", "run.yaml:1: 'hidden-size': expected an integer, got no value (nothing after the colon, or null)"),
        ])
    func emptyValues(text: String, expected: String) {
        #expect(Self.message { _ = try ExperimentFile.parse(yaml: text, path: "run.yaml") } == expected)
    }

    @Test("16: a YAML complex key is named as such, in experiment and space files")
    func complexKeys() {
        let experiment = Self.message { _ = try ExperimentFile.parse(yaml: "hidden-size: 8\n? [lr, l2]\n: 0.1\n", path: "run.yaml") }
        #expect(experiment == "run.yaml:2: a name must be plain text, not a list (a YAML complex key, '? …'); write name: value")
        let space = Self.message { _ = try SearchSpace.parse(yaml: "? {hidden-size: 8}\n: [1, 2]\n", path: "space.yaml") }
        #expect(space == "space.yaml:1: a name must be plain text, not a mapping (a YAML complex key, '? …'); write name: value")
    }

    /// Seven parameters of 100 values each: 10^14 points.
    static let hugeSpace = SearchSpace(
        domains: Dictionary(
            uniqueKeysWithValues: SearchParameter.allCases.map { parameter in
                (parameter, SearchDomain.choice((1...100).map { parameter.isInteger ? Double($0) : Double($0) / 1000 }))
            }))

    @Test("15: a grid is enumerated lazily: its points are computed from their index")
    func gridIsLazy() throws {
        let base = TrainingConfiguration()
        let grid = try #require(Self.hugeSpace.grid(base: base))
        #expect(grid.count == 100_000_000_000_000)
        // Index 1,234,567 in base 100 is the digits 1, 23, 45, 67 of the last four parameters.
        let point = grid[1_234_567]
        let thousandth = { (n: Int) in Float(Double(n) / 1000) }
        #expect(point.learningRate == thousandth(1) && point.l2Penalty == thousandth(1) && point.hiddenSize == 1)
        #expect(point.propagationSteps == 2 && point.batchSize == 24 && point.decayInterval == 46 && point.decayFactor == thousandth(68))
        let header = SearchHeader(
            space: Self.hugeSpace, search: .grid, seed: 1, objective: SearchObjective("mrr@20")!,
            datasetFingerprint: "x", data: "d", epochsPerTrial: 1, patience: 1, timeBudgetSeconds: nil, base: base)
        let plan = header.plan(trials: 3)
        #expect(plan.count == 4 && plan[3].configuration.decayFactor == thousandth(3))
    }

    @Test("15: a grid over the stated limit of points is refused, naming its size")
    func gridOverTheLimit() {
        let text = Self.message { _ = try Self.hugeSpace.checkedGrid(base: TrainingConfiguration()) }
        #expect(
            text
                == "the grid has 100000000000000 points (100 learning-rate × 100 l2-penalty × 100 hidden-size × 100 propagation-steps × 100 batch-size × 100 decay-interval × 100 decay-factor), over the limit of \(SearchSpace.maximumGridPoints) points for a grid search; list fewer values, or use --search random"
        )
        let small = SearchSpace(domains: [.hiddenSize: .choice([8, 16]), .decayInterval: .choice([2, 3])])
        #expect(Self.message { _ = try small.checkedGrid(base: TrainingConfiguration()) } == "no error")
    }
}
