import TensorCore

/// Largest violation of `|actual − expected| ≤ absolute + relative · |expected|`, with its index;
/// `nil` when every element is within tolerance.
public func closenessViolation(
    _ actual: [Float], _ expected: [Float], absolute: Float, relative: Float
)
    -> (index: Int, actual: Float, expected: Float)?
{
    guard actual.count == expected.count else { return (-1, Float(actual.count), Float(expected.count)) }
    var worst: (index: Int, actual: Float, expected: Float, excess: Float)?
    for i in actual.indices {
        let excess = abs(actual[i] - expected[i]) - (absolute + relative * abs(expected[i]))
        if excess > 0 || actual[i].isNaN, worst == nil || excess > worst!.excess {
            worst = (i, actual[i], expected[i], excess)
        }
    }
    return worst.map { ($0.index, $0.actual, $0.expected) }
}
