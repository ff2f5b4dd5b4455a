import Evaluation
import Experiments
import Foundation
import SessionData
import Testing
import Training

/// `srgnn tune --model NAME` for the baselines: the validation split, the plan, the spaces and the
/// tuned configuration files.
@Suite struct BaselineSearchTests {
    let sessions = SessionList([[1, 2, 3], [2, 3], [3, 4, 5, 1], [1, 5], [4, 2, 3], [5, 1, 2]])

    func search(_ model: Baseline = .sknn, split: ValidationSplit = .sessions, fraction: Double = 0.3) -> BaselineSearch {
        BaselineSearch(
            space: .standard(for: model, meanSessionLength: 3), search: .random, seed: 7, objective: SearchObjective("hr@2")!,
            trials: 3, validationSplit: split, validationFraction: fraction)
    }

    /// Whole sessions are held out (every prefix of each, none of the rest) until they hold the
    /// validation share of the examples; the rest is fitted on, in order, with its times.
    @Test(arguments: [ValidationSplit.sessions, .latest])
    func theSplitHoldsOutWholeSessions(split: ValidationSplit) {
        let times: [Int64] = [10, 20, 30, 40, 50, 60]
        let (fit, fitTimes, validation) = search(split: split).split(sessions, times: times)
        let examples = (0..<sessions.count).map { sessions.length(of: $0) - 1 }.reduce(0, +)  // 11
        let wanted = examples - Int((Double(examples) * 0.7).rounded(.toNearestOrEven))  // 3
        #expect(validation.count >= wanted && validation.count < wanted + 3)
        let kept = (0..<fit.count).map { Array(fit[$0]) }
        let heldOut = (0..<sessions.count).filter { !kept.contains(Array(sessions[$0])) }
        #expect(kept.count + heldOut.count == sessions.count)
        #expect(fitTimes == (0..<sessions.count).filter { !heldOut.contains($0) }.map { times[$0] })
        var expected = [[Int32]]()
        for s in heldOut {
            let session = Array(sessions[s])
            for end in stride(from: session.count - 1, through: 1, by: -1) { expected.append(Array(session[..<end]) + [session[end]]) }
        }
        #expect((0..<validation.count).map { Array(validation.prefix($0)) + [validation.targets[$0]] } == expected)
        if split == .latest { #expect(heldOut == [5, 4].filter { heldOut.contains($0) }.sorted() && heldOut.contains(5)) }
    }

    /// The defaults run first with the fitters' own values; random trials are a function of the
    /// seed and draw only listed values; a grid walks the product in order.
    @Test func thePlan() throws {
        let plan = try search().plan()
        #expect(plan.map(\.name) == [.defaults, .index(0), .index(1), .index(2)])
        #expect(plan[0].values == [.number(100), .number(500)])
        #expect(try search().plan().map(\.values) == plan.map(\.values))
        let space = BaselineSearchSpace.standard(for: .sknn, meanSessionLength: 3)
        for run in plan.dropFirst() {
            for (value, domain) in zip(run.values, space.domains) {
                guard case .values(let listed) = domain else { Issue.record("a range in the standard space"); continue }
                #expect(listed.contains(value))
            }
        }
        var grid = search()
        grid.search = .grid
        grid.space = BaselineSearchSpace(
            model: .sknn, names: ["k", "sample"], domains: [.values([.number(1), .number(2)]), .values([.number(0), .number(5)])])
        #expect(
            try grid.plan().dropFirst().map(\.values) == [[.number(1), .number(0)], [.number(1), .number(5)], [.number(2), .number(0)]])
    }

    /// Every value of every model's standard space is one its fitter accepts.
    @Test func standardSpacesFit() throws {
        for model in Baseline.allCases {
            let space = BaselineSearchSpace.standard(for: model, meanSessionLength: 4.85)
            #expect(space.names.isEmpty == model.parameters.isEmpty, "\(model)")
            for (name, domain) in zip(space.names, space.domains) {
                guard case .values(let values) = domain else { continue }
                for value in values {
                    var fitters = BaselineFitters()
                    try model.parameter(named: name)!.set(value, in: &fitters)
                    #expect(model.problem(in: fitters) == nil, "\(model) \(name) \(value)")
                }
            }
        }
    }

    /// A run's objective is the fitted model's validation metric, and the records keep the run's values.
    @Test func runsScoreOnTheHeldOutPrefixes() throws {
        var tuner = search(.sr)
        tuner.space = BaselineSearchSpace(model: .sr, names: ["steps"], domains: [.values([.number(1), .number(3)])])
        tuner.search = .grid
        let records = try tuner.run(sessions: sessions, times: nil, itemCount: 5) { _ in }
        #expect(records.map(\.trial) == [.defaults, .index(0), .index(1)])
        let (fit, _, validation) = tuner.split(sessions, times: nil)
        for record in records {
            var fitters = BaselineFitters()
            try Baseline.sr.parameter(named: "steps")!.set(record.parameters["steps"]!, in: &fitters)
            let model = fitters.sequentialRules.fit(sessions: fit.arrays, itemCount: 5)
            let report = Evaluator(cutoffs: [2], listLength: nil).evaluate(model, on: TestExample.examples(of: validation))
            #expect(record.objective == report.metrics(at: 2)!.hitRate)
        }
        let best = try #require(BaselineSearch.best(of: records))
        #expect(records.allSatisfy { $0.objective <= best.objective })
    }

    /// A space file names the model's parameters; a tuned configuration sets the fitter; mistakes
    /// name the file and the line.
    @Test func filesAndTheirErrors() throws {
        let space = try BaselineSearchSpace.parse(
            yaml: "similarity: [cosine, vector]\nk: {uniform: [10, 20]}\nlambda-idf: 0\n", path: "s.yaml", model: .vstan)
        #expect(space.names == ["k", "similarity", "lambda-idf"])
        #expect(space.domains[0] == .uniform(low: 10, high: 20))
        #expect(
            throws: SettingsFileError(
                path: "s.yaml", line: 2,
                "VSTAN has no parameter 'steps'; it has k, sample, similarity, lambda-spw, lambda-snh, lambda-inh, lambda-ipw, lambda-idf")
        ) {
            try BaselineSearchSpace.parse(yaml: "k: 5\nsteps: 3\n", path: "s.yaml", model: .vstan)
        }
        #expect(throws: SettingsFileError.self) { try BaselineSearchSpace.parse(yaml: "similarity: dot\n", path: "s.yaml", model: .vstan) }
        #expect(throws: SettingsFileError.self) { try BaselineSearchSpace.parse(yaml: "k: 2.5\n", path: "s.yaml", model: .vstan) }

        var fitters = BaselineFitters()
        try applyTunedConfiguration(
            yaml: "k: 300\nsimilarity: vector\nlambda-snh: 0\nlambda-idf: 1.5\n", path: "best.yaml", model: .vstan, to: &fitters)
        #expect(fitters.vstan.k == 300 && fitters.vstan.similarity == .vector)
        #expect(fitters.vstan.recencyDecayDays == nil && fitters.vstan.idfWeight == 1.5)
        #expect(throws: SettingsFileError(path: "best.yaml", line: nil, "VSTAN: k must be at least 1")) {
            try applyTunedConfiguration(yaml: "k: 0\n", path: "best.yaml", model: .vstan, to: &fitters)
        }
    }
}
