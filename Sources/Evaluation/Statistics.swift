import Foundation

// Summaries of repeated runs: mean, sample standard deviation and a Student-t confidence interval.

/// The mean of `n` values with the sample standard deviation `s` (divisor n − 1) and the two-sided
/// Student-t interval `mean ± t(1 − (1 − level)/2, n − 1) · s / √n`.
///
/// With one value the deviation and interval are undefined and reported as `nil`.
public struct MeanInterval: Sendable, Codable, Equatable {
    public var count: Int
    public var mean: Double
    public var standardDeviation: Double?
    /// Confidence level of the interval, e.g. 0.95.
    public var level: Double
    public var lower: Double?
    public var upper: Double?

    enum CodingKeys: String, CodingKey {
        case count, mean, level, lower, upper
        case standardDeviation = "standard_deviation"
    }

    public init(_ values: [Double], level: Double = 0.95) {
        precondition(!values.isEmpty, "need at least one value")
        precondition(level > 0 && level < 1, "level must be in (0, 1)")
        count = values.count
        mean = values.reduce(0, +) / Double(values.count)
        self.level = level
        guard values.count > 1 else { return }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let deviation = (squares / Double(values.count - 1)).squareRoot()
        let halfWidth =
            studentTQuantile(1 - (1 - level) / 2, degreesOfFreedom: values.count - 1) * deviation / Double(values.count).squareRoot()
        standardDeviation = deviation
        lower = mean - halfWidth
        upper = mean + halfWidth
    }
}

/// The quantile `t` with `P(T ≤ t) = probability` of Student's t distribution with `ν` degrees of
/// freedom, e.g. `studentTQuantile(0.975, degreesOfFreedom: 2) ≈ 4.303`.
///
/// For t ≥ 0, `P(T ≤ t) = 1 − ½ I_x(ν/2, ½)` with `x = ν / (ν + t²)` (the regularised incomplete
/// beta function); the quantile is found by bisection to 1e-12, and by symmetry below ½.
public func studentTQuantile(_ probability: Double, degreesOfFreedom ν: Int) -> Double {
    precondition(probability > 0 && probability < 1, "probability must be in (0, 1)")
    precondition(ν >= 1, "degrees of freedom must be at least 1")
    if probability == 0.5 { return 0 }  // the centre, which bisection would only approach
    if probability < 0.5 { return -studentTQuantile(1 - probability, degreesOfFreedom: ν) }
    let df = Double(ν)
    func cdf(_ t: Double) -> Double { 1 - 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5) }
    var low = 0.0, high = 1.0
    while cdf(high) < probability { low = high; high *= 2 }
    while high - low > 1e-12 * max(1, high) {
        let middle = (low + high) / 2
        if cdf(middle) < probability { low = middle } else { high = middle }
    }
    return (low + high) / 2
}

/// `I_x(a, b)`, the regularised incomplete beta function, by its continued fraction (Lentz's
/// method, as in Numerical Recipes' `betai`/`betacf`), using the symmetry `I_x(a, b) = 1 − I_{1−x}(b, a)`
/// where the fraction converges slowly.
func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, b, a) }
    // log(x^a (1 − x)^b / B(a, b)), in steps (one expression of overloaded lgamma/log is too slow to type-check).
    let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
    let logPowers: Double = a * log(x) + b * log1p(-x)
    let logFront = logPowers - logBeta
    let tiny = 1e-300
    var c = 1.0, d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var fraction = d
    for m in 1...300 {
        let m = Double(m)
        // Even step, then odd step of the continued fraction.
        var numerator: Double = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
        c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        fraction *= d * c
        numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
        c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        let step = d * c
        fraction *= step
        if abs(step - 1) < 1e-15 { break }
    }
    return exp(logFront) * fraction / a
}
