import Foundation

// The statistics of an online A/B test on proportions (click-through, conversion): the Wilson
// interval of one proportion, the two-proportion z-test, the relative lift with a delta-method
// interval, Pearson's χ² goodness-of-fit test (sample-ratio mismatch) and the per-arm sample size
// for a given power. `srgnn ab-report` reports them.

/// Φ(z), the standard normal distribution function: `½ erfc(−z / √2)`.
public func standardNormalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

/// The quantile z with Φ(z) = `probability` (0 < probability < 1), by bisection to 1e-12 on
/// `standardNormalCDF`, e.g. `standardNormalQuantile(0.975) ≈ 1.959964`.
public func standardNormalQuantile(_ probability: Double) -> Double {
    precondition(probability > 0 && probability < 1, "a quantile needs 0 < probability < 1")
    var low = -40.0, high = 40.0
    while high - low > 1e-12 {
        let middle = (low + high) / 2
        if standardNormalCDF(middle) < probability { low = middle } else { high = middle }
    }
    return (low + high) / 2
}

/// A proportion `successes / trials` with its Wilson score interval at `level`:
///
///     p̂ = x / n,  z = Φ⁻¹(1 − (1 − level) / 2)
///     centre = (p̂ + z² / 2n) / (1 + z² / n)
///     half   = z / (1 + z² / n) · √(p̂ (1 − p̂) / n + z² / 4n²)
///
/// (Wilson 1927; Newcombe 1998's method 3). Unlike p̂ ± z √(p̂(1−p̂)/n) it stays inside [0, 1] and
/// does not collapse to a point at 0 clicks. With no trials the interval is [0, 1].
public struct Proportion: Sendable, Codable, Equatable {
    public var successes: Int
    public var trials: Int
    public var value: Double
    public var lower: Double
    public var upper: Double

    public init(successes: Int, trials: Int, level: Double = 0.95) {
        precondition(successes >= 0 && successes <= trials, "successes must be in 0...trials")
        self.successes = successes
        self.trials = trials
        guard trials > 0 else {
            (value, lower, upper) = (0, 0, 1)
            return
        }
        let n = Double(trials), p = Double(successes) / n
        let z = standardNormalQuantile(1 - (1 - level) / 2), z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        value = p
        lower = max(0, centre - half)
        upper = min(1, centre + half)
    }
}

/// The pooled two-proportion z-test of "the two proportions are equal", two-sided:
///
///     p̄ = (x₁ + x₂) / (n₁ + n₂),  z = (p̂₂ − p̂₁) / √(p̄ (1 − p̄) (1/n₁ + 1/n₂)),  p = 2 (1 − Φ(|z|))
///
/// Returns z = 0 and p = 1 when the pooled proportion is 0 or 1 (no variation to test), and nil
/// when either arm has no trials.
public func twoProportionZTest(
    successes1: Int, trials1: Int, successes2: Int, trials2: Int
) -> (z: Double, pValue: Double)? {
    guard trials1 > 0, trials2 > 0 else { return nil }
    let n1 = Double(trials1), n2 = Double(trials2)
    let pooled = Double(successes1 + successes2) / (n1 + n2)
    let variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    guard variance > 0 else { return (0, 1) }
    let z = (Double(successes2) / n2 - Double(successes1) / n1) / variance.squareRoot()
    return (z, erfc(abs(z) / 2.0.squareRoot()))
}

/// The relative lift p̂₂ / p̂₁ − 1 of a treatment over a baseline, with the delta-method interval of
/// the log ratio (Katz et al. 1978):
///
///     se(log(p̂₂ / p̂₁)) = √((1 − p̂₁) / x₁ + (1 − p̂₂) / x₂)
///     interval = exp(log(p̂₂ / p̂₁) ± z · se) − 1
///
/// nil when either arm has no successes (the log ratio is undefined).
public func relativeLift(
    successes1: Int, trials1: Int, successes2: Int, trials2: Int, level: Double = 0.95
) -> (lift: Double, lower: Double, upper: Double)? {
    guard successes1 > 0, successes2 > 0, trials1 > 0, trials2 > 0 else { return nil }
    let p1 = Double(successes1) / Double(trials1), p2 = Double(successes2) / Double(trials2)
    let logRatio = log(p2 / p1)
    let standardError = ((1 - p1) / Double(successes1) + (1 - p2) / Double(successes2)).squareRoot()
    let z = standardNormalQuantile(1 - (1 - level) / 2)
    return (p2 / p1 - 1, exp(logRatio - z * standardError) - 1, exp(logRatio + z * standardError) - 1)
}

/// Pearson's χ² goodness-of-fit test of `observed` counts against the shares a split expects
/// (`expectedShares`, summing to 1, each > 0): χ² = Σ (Oᵢ − Eᵢ)² / Eᵢ with Eᵢ = N · shareᵢ, on k − 1
/// degrees of freedom; p = P(χ²ₖ₋₁ ≥ χ²). A sample-ratio mismatch is usually declared at p < 0.001.
public func chiSquareGoodnessOfFit(
    observed: [Int], expectedShares: [Double]
) -> (statistic: Double, degreesOfFreedom: Int, pValue: Double) {
    precondition(observed.count == expectedShares.count && observed.count >= 2, "one share per count, at least two")
    precondition(expectedShares.allSatisfy { $0 > 0 }, "every expected share must be positive")
    let total = Double(observed.reduce(0, +))
    let statistic = zip(observed, expectedShares).reduce(0.0) { sum, pair in
        let expected = total * pair.1
        return sum + (Double(pair.0) - expected) * (Double(pair.0) - expected) / expected
    }
    let degrees = observed.count - 1
    return (total > 0 ? statistic : 0, degrees, total > 0 ? chiSquareSurvival(statistic, degreesOfFreedom: degrees) : 1)
}

/// P(X ≥ x) for X ~ χ²(ν): the regularised upper incomplete gamma function Q(ν/2, x/2); for ν = 2
/// it is exp(−x/2), for ν = 1 it is erfc(√(x/2)).
public func chiSquareSurvival(_ x: Double, degreesOfFreedom ν: Int) -> Double {
    precondition(ν >= 1, "at least one degree of freedom")
    return x <= 0 ? 1 : regularizedUpperIncompleteGamma(Double(ν) / 2, x / 2)
}

/// Q(a, x) = Γ(a, x) / Γ(a): its series below x < a + 1, its continued fraction (Lentz) above, as
/// in Numerical Recipes' `gammq`, to a relative 1e-15.
func regularizedUpperIncompleteGamma(_ a: Double, _ x: Double) -> Double {
    let logPrefactor = a * log(x) - x - lgamma(a)
    if x < a + 1 {
        // P(a, x) = e^{−x} x^a / Γ(a) · Σ xⁿ / (a (a+1) … (a+n))
        var term = 1 / a, sum = term, denominator = a
        for _ in 0..<10_000 {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) < abs(sum) * 1e-15 { break }
        }
        return max(0, 1 - sum * exp(logPrefactor))
    }
    let tiny = 1e-300
    var b = x + 1 - a, c = 1 / tiny, d = 1 / b, fraction = d
    for i in 1..<10_000 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b
        if abs(d) < tiny { d = tiny }
        c = b + an / c
        if abs(c) < tiny { c = tiny }
        d = 1 / d
        let step = d * c
        fraction *= step
        if abs(step - 1) < 1e-15 { break }
    }
    return exp(logPrefactor) * fraction
}

/// The trials per arm a two-sided two-proportion test at `alpha` needs to detect `treatment`
/// against `baseline` with probability `power` (Fleiss, Levin & Paik 2003, eq. 4.14, without
/// continuity correction):
///
///     n = (z₁₋α/₂ √(2 p̄ (1 − p̄)) + z_power √(p₁(1 − p₁) + p₂(1 − p₂)))² / (p₂ − p₁)²,  p̄ = (p₁ + p₂) / 2
///
/// rounded up; nil when the two are equal or either is outside (0, 1).
public func sampleSizePerArm(baseline p1: Double, treatment p2: Double, alpha: Double = 0.05, power: Double = 0.8) -> Int? {
    guard p1 > 0, p1 < 1, p2 > 0, p2 < 1, p1 != p2 else { return nil }
    let mean = (p1 + p2) / 2
    let zAlpha = standardNormalQuantile(1 - alpha / 2), zPower = standardNormalQuantile(power)
    let root = zAlpha * (2 * mean * (1 - mean)).squareRoot() + zPower * (p1 * (1 - p1) + p2 * (1 - p2)).squareRoot()
    let n = root * root / ((p2 - p1) * (p2 - p1))
    return n.isFinite && n < Double(Int.max / 2) ? Int(n.rounded(.up)) : nil
}
