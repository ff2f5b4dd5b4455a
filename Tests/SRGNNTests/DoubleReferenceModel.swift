import Foundation
import SessionData
import SRGNN
import TensorCore

/// SR-GNN written a second time, densely and per session in Double, straight from the equations
/// of REFERENCE.md: an independent oracle for the loss and, through central differences, for
/// every gradient of the optimized Float32 implementation.
struct DoubleReferenceModel {
    var configuration: SRGNNConfiguration
    var values: [ParameterName: [Double]]

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

    /// Mean cross-entropy of the batch.
    func loss(sessions: [[Int32]], targets: [Int32]) -> Double {
        let d = configuration.hiddenSize
        let v = values
        var total = 0.0
        for (session, target) in zip(sessions, targets) {
            let graph = SessionGraph(session: session)
            let adjacencyIn = graph.adjacencyIn.map { $0.map(Double.init) }
            let adjacencyOut = graph.adjacencyOut.map { $0.map(Double.init) }
            let n = graph.nodes.count
            var h = graph.nodes.map { item in Array(v[.embedding]![(Int(item) * d)..<(Int(item) * d + d)]) }
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
            let positions = graph.alias.map { h[Int($0)] }
            let last = positions[positions.count - 1]
            let q1 = affine(v[.attentionLastWeight]!, last, v[.attentionLastBias]!, outputs: d)
            var global = [Double](repeating: 0, count: d)
            for state in positions {
                let q2 = affine(v[.attentionItemWeight]!, state, v[.attentionItemBias]!, outputs: d)
                let alpha = (0..<d).reduce(0.0) { $0 + v[.attentionVector]![$1] * sigmoid(q1[$1] + q2[$1]) }
                for j in 0..<d { global[j] += alpha * state[j] }
            }
            let sessionEmbedding = configuration.nonhybrid
                ? global : affine(v[.hybridWeight]!, global + last, v[.hybridBias]!, outputs: d)
            let scores = (1...configuration.itemCount).map { item in
                (0..<d).reduce(0.0) { $0 + sessionEmbedding[$1] * v[.embedding]![item * d + $1] }
            }
            let maximum = scores.max()!
            let logSumExp = maximum + log(scores.reduce(0.0) { $0 + exp($1 - maximum) })
            total += logSumExp - scores[Int(target) - 1]
        }
        return total / Double(sessions.count)
    }
}
