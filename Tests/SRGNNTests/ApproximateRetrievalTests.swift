import SessionData
import SRGNN
import TensorCore
import Testing

/// `--retrieval approximate`: the int8 scan (within its quantisation error, the same values on
/// every path), rescoring that gives exact ranking's own scores, the item rules, and recall@20.
@Suite struct ApproximateRetrievalTests {
    /// Each approximate score is within the error that rounding both vectors to int8 allows:
    /// |h·e − ĥ·ê| ≤ Σ_k (s_h/2 |e_k| + s_e/2 |h_k| + s_h s_e / 4), plus float rounding of the
    /// scaling; every path gives the same bits. d = 37 is no multiple of 4, 50 items end in a
    /// partial panel.
    @Test func int8ScoresAreWithinTheQuantisationErrorOnEveryPath() {
        let d = 37, count = 50, rows = 3
        var generator = SeededGenerator(seed: 5)
        let items = (0..<count * d).map { _ in Float.random(in: -1...1, using: &generator) }
        var queries = (0..<rows * d).map { _ in Float.random(in: -2...2, using: &generator) }
        queries.replaceSubrange(0..<d, with: repeatElement(0, count: d))  // an all-zero session vector scores 0
        let matrix = items.withUnsafeBufferPointer { Int8ItemMatrix(items: $0.baseAddress!, count: count, hiddenSize: d) }
        let quantized = queries.withUnsafeBufferPointer { matrix.quantize(queries: $0.baseAddress!, rows: rows) }
        var byPath = [[Float]]()
        for path in ScoreKernels.supportedPaths {
            var out = [Float](repeating: .nan, count: rows * count)
            // Two tiles: the scan starts every tile on a panel.
            matrix.scores(path, quantized, first: 0, width: 32, into: &out, ldo: count)
            out.withUnsafeMutableBufferPointer {
                matrix.scores(path, quantized, first: 32, width: 18, into: $0.baseAddress! + 32, ldo: count)
            }
            byPath.append(out)
        }
        #expect(byPath.allSatisfy { $0 == byPath[0] }, "the same approximate scores on every path")
        func scale(_ x: ArraySlice<Float>) -> Double { Double(x.map { abs($0) }.max()!) / 127 }
        for r in 0..<rows {
            let h = queries[r * d..<(r + 1) * d], sh = scale(h)
            for j in 0..<count {
                let e = items[j * d..<(j + 1) * d], se = scale(e)
                let exact = zip(h, e).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let magnitude = zip(h, e).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                let bound = zip(h, e).reduce(0.0) { $0 + sh / 2 * abs(Double($1.1)) + se / 2 * abs(Double($1.0)) + sh * se / 4 }
                let error = abs(Double(byPath[0][r * count + j]) - exact)
                #expect(error <= bound + 1e-6 * (magnitude + 1), "row \(r) item \(j): error \(error), bound \(bound)")
                if r == 0 { #expect(byPath[0][j] == 0) }
            }
        }
    }

    static func models(items: Int = 300, hiddenSize: Int = 10) throws -> [(name: String, model: SRGNNModel)] {
        var niser = SRGNNConfiguration(itemCount: items, hiddenSize: hiddenSize)
        ModelVariant.niser.configure(&niser)
        return [
            ("SR-GNN", try SRGNNModel(configuration: SRGNNConfiguration(itemCount: items, hiddenSize: hiddenSize), seed: 11)),
            ("NISER+", try SRGNNModel(configuration: niser, seed: 12)),
        ]
    }

    /// With every item a candidate, approximate retrieval rescores them all and must give exact
    /// ranking's answers exactly (ids, order and score bits): plain, with allowed items (the
    /// catalogue's rules), explicit candidates and a k past the allowed count; on every path.
    @Test(arguments: ScoreKernels.supportedPaths)
    func rescoringEveryItemGivesTheExactAnswer(path: KernelPath) throws {
        let sessions: [[Int32]] = [[1, 2, 3, 2, 4], [5], [6, 2, 6, 2, 1, 6], [30, 31, 7, 40], [12, 12, 12], [299, 300, 150]]
        let allowed = ItemMask(count: 300, allowing: stride(from: Int32(3), through: 300, by: 7))
        let selections: [ItemSelection] = [
            .best(k: 25, allowed: nil), .best(k: 10, allowed: allowed), .candidates([300, 1, 77, 150], k: 3),
            .best(k: 300, allowed: allowed), .best(k: 1, allowed: nil), .candidates([], k: 5),
        ]
        for (name, var model) in try Self.models() {
            model.kernelPath = path
            let exact = InferenceModel(model, path: path)
            let approximate = InferenceModel(model, path: path, retrieval: .approximate(candidates: 300))
            #expect(approximate.quantizedItems != nil && exact.quantizedItems == nil)
            let expected = try exact.select(sessions: sessions, selections: selections, threads: 2)
            #expect(try approximate.select(sessions: sessions, selections: selections, threads: 2) == expected, "\(name) \(path)")
            #expect(try approximate.select(sessions: sessions, selections: selections, threads: 1) == expected, "\(name) \(path), 1 thread")
            #expect(
                expected[1].allSatisfy { allowed.contains($0.id) } && expected[3].count == allowed.words.map(\.nonzeroBitCount).reduce(0, +)
            )
        }
    }

    /// Recall@20 against exact ranking with the default candidates, on an untrained model (its
    /// scores lie close together, the hardest case for a quantised scan) of 20,000 items, d = 100:
    /// at least 0.99, and every item returned carries its exact score. Also with an allowed set.
    @Test func recallAt20OfTheDefaultCandidatesIsAtLeast99Percent() throws {
        let items = 20_000
        let model = try SRGNNModel(configuration: SRGNNConfiguration(itemCount: items, hiddenSize: 100), seed: 4)
        var generator = SeededGenerator(seed: 9)
        let sessions = (0..<200).map { _ in
            (0..<Int.random(in: 1...8, using: &generator)).map { _ in Int32.random(in: 1...Int32(items), using: &generator) }
        }
        let exact = InferenceModel(model)
        let approximate = InferenceModel(model, retrieval: .approximate(candidates: Retrieval.defaultCandidates))
        let allowed = ItemMask(count: items, allowing: stride(from: Int32(2), through: Int32(items), by: 3))
        for mask in [nil, allowed] {
            let selections = Array(repeating: ItemSelection.best(k: 20, allowed: mask), count: sessions.count)
            let truth = try exact.select(sessions: sessions, selections: selections, threads: 2)
            let answers = try approximate.select(sessions: sessions, selections: selections, threads: 2)
            let recall = zip(truth, answers).map { Double(Set($0.map(\.id)).intersection($1.map(\.id)).count) / 20 }.reduce(0, +) / 200
            #expect(recall >= 0.99, "recall@20 \(recall), allowed \(mask != nil)")
            var scores = [Float](repeating: .nan, count: sessions.count * items)
            exact.scores(SessionBatch(sessions: sessions), threads: 2, into: &scores)
            for (row, answer) in answers.enumerated() {
                #expect(answer.count == 20 && answer.allSatisfy { scores[row * items + Int($0.id) - 1] == $0.score })
                #expect(answer.allSatisfy { mask?.contains($0.id) ?? true })
            }
        }
    }
}
