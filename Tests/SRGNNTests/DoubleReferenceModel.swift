import Foundation
import SessionData
import SRGNN
import TensorCore

/// SR-GNN written a second time, densely and per session in Double, straight from the equations
/// of REFERENCE.md: an independent oracle for the loss and, through central differences, for
/// every gradient of the optimized Float32 implementation.
///
/// NISER/NISER+ (when the configuration asks): h_0 = m ⊙ Ê[nodes] with `dropoutMask` m (one row
/// per node of the batch, in the batch's node order; nil = no dropout), H_i += P[min(L − 1 − i,
/// R − 1)], s' = σ s_h / ‖s_h‖ and scores = s' · ê_j. With `authorsCode`: h_T ← m' ⊙ h_T
/// (`outputDropoutMask`), H_i += P[min(i, R − 1)] and a = softmax(α) per session.
struct DoubleReferenceModel {
    var configuration: SRGNNConfiguration
    var values: [ParameterName: [Double]]
    var dropoutMask: [[Double]]? = nil
    var outputDropoutMask: [[Double]]? = nil

    init(_ model: SRGNNModel) {
        configuration = model.configuration
        values = Dictionary(uniqueKeysWithValues: ParameterName.allCases.map { ($0, model.parameters.values(of: $0).map(Double.init)) })
    }

    /// `W x + b` for `W` `[out, in]` row-major.
    private func affine(_ weight: [Double], _ x: [Double], _ bias: [Double]?, outputs: Int) -> [Double] {
        let inputs = x.count
        return (0..<outputs).map { o in
            var sum = bias?[o] ?? 0
            for i in 0..<inputs { sum += weight[o * inputs + i] * x[i] }
            return sum
        }
    }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    private func normalized(_ x: [Double], scale: Double = 1) -> [Double] {
        let norm = max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return x.map { scale * $0 / norm }
    }

    /// Row `item` of the embedding, normalised for NISER.
    private func itemVector(_ item: Int) -> [Double] {
        let d = configuration.hiddenSize
        let row = Array(values[.embedding]![(item * d)..<(item * d + d)])
        return configuration.normalize ? normalized(row) : row
    }

    /// ∂loss/∂θ for every value θ of the parameter `name`, by central differences in Double:
    /// truncation O(h²) ≈ 1e-12 and rounding ≈ 1e-16/h ≈ 1e-10 at h = 1e-6, far below the float32
    /// analytic gradient's own error, so the tolerance of a check is set by the model under test.
    mutating func centralDifferences(of name: ParameterName, sessions: [[Int32]], targets: [Int32], h: Double = 1e-6) -> [Float] {
        (0..<values[name]!.count).map { index in
            let original = values[name]![index]
            values[name]![index] = original + h
            let plus = loss(sessions: sessions, targets: targets)
            values[name]![index] = original - h
            let minus = loss(sessions: sessions, targets: targets)
            values[name]![index] = original
            return Float((plus - minus) / (2 * h))
        }
    }

    /// Mean cross-entropy of the batch.
    func loss(sessions: [[Int32]], targets: [Int32]) -> Double {
        let d = configuration.hiddenSize
        let v = values
        var total = 0.0
        var firstNode = 0  // the session's first row in the batch's stacked nodes (dropout mask)
        let items = (0...configuration.itemCount).map(itemVector)
        for (session, target) in zip(sessions, targets) {
            let graph = SessionGraph(session: session)
            defer { firstNode += graph.nodes.count }
            let adjacencyIn = graph.adjacencyIn.map { $0.map(Double.init) }
            let adjacencyOut = graph.adjacencyOut.map { $0.map(Double.init) }
            let n = graph.nodes.count
            var h = graph.nodes.map { items[Int($0)] }
            if let dropoutMask {
                for node in 0..<n { for j in 0..<d { h[node][j] *= dropoutMask[firstNode + node][j] } }
            }
            for _ in 0..<configuration.propagationSteps {
                let xIn = h.map { affine(v[.edgeInWeight]!, $0, v[.edgeInBias]!, outputs: d) }
                let xOut = h.map { affine(v[.edgeOutWeight]!, $0, v[.edgeOutBias]!, outputs: d) }
                var next = h
                for node in 0..<n {
                    var a = [Double](repeating: 0, count: 2 * d)
                    for j in 0..<d {
                        a[j] = v[.inAggregateBias]![j]
                        a[d + j] = v[.outAggregateBias]![j]
                        for other in 0..<n {
                            a[j] += adjacencyIn[node][other] * xIn[other][j]
                            a[d + j] += adjacencyOut[node][other] * xOut[other][j]
                        }
                    }
                    let gi = affine(v[.inputWeight]!, a, v[.inputBias]!, outputs: 3 * d)
                    let gh = affine(v[.hiddenWeight]!, h[node], v[.hiddenBias]!, outputs: 3 * d)
                    for j in 0..<d {
                        let r = sigmoid(gi[j] + gh[j])
                        let z = sigmoid(gi[d + j] + gh[d + j])
                        let c = tanh(gi[2 * d + j] + r * gh[2 * d + j])
                        next[node][j] = (1 - z) * c + z * h[node][j]
                    }
                }
                h = next
            }
            if let outputDropoutMask {
                for node in 0..<n { for j in 0..<d { h[node][j] *= outputDropoutMask[firstNode + node][j] } }
            }
            var positions = graph.alias.map { h[Int($0)] }
            let positionRows = configuration.positionEmbeddingRows
            if positionRows > 0 {
                let length = positions.count
                for i in 0..<length {
                    let row = min(configuration.authorsCode ? i : length - 1 - i, positionRows - 1)
                    for j in 0..<d { positions[i][j] += v[.reversePositionEmbedding]![row * d + j] }
                }
            }
            let last = positions[positions.count - 1]
            let q1 = affine(v[.attentionLastWeight]!, last, v[.attentionLastBias]!, outputs: d)
            var alphas = positions.map { state in
                let q2 = affine(v[.attentionItemWeight]!, state, v[.attentionItemBias]!, outputs: d)
                return (0..<d).reduce(0.0) { $0 + v[.attentionVector]![$1] * sigmoid(q1[$1] + q2[$1]) }
            }
            if configuration.authorsCode {
                let exponentials = alphas.map { exp($0) }, sum = exponentials.reduce(0, +)
                alphas = exponentials.map { $0 / sum }
            }
            var global = [Double](repeating: 0, count: d)
            for (alpha, state) in zip(alphas, positions) {
                for j in 0..<d { global[j] += alpha * state[j] }
            }
            let readout =
                configuration.nonhybrid
                ? global : affine(v[.hybridWeight]!, global + last, v[.hybridBias]!, outputs: d)
            let sessionEmbedding = configuration.normalize ? normalized(readout, scale: Double(configuration.scale)) : readout
            let scores = (1...configuration.itemCount).map { item in
                (0..<d).reduce(0.0) { $0 + sessionEmbedding[$1] * items[item][$1] }
            }
            let maximum = scores.max()!
            let logSumExp = maximum + log(scores.reduce(0.0) { $0 + exp($1 - maximum) })
            total += logSumExp - scores[Int(target) - 1]
        }
        return total / Double(sessions.count)
    }
}
