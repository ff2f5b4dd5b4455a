import Evaluation
import Foundation
import TensorCore
import Testing

/// Student-t intervals over seeds, checked against values computed by hand and published quantiles.
@Suite("statistics")
struct StatisticsTests {
    /// Quantiles of Student's t (scipy.stats.t.ppf; printed tables give the first three decimals:
    /// t(0.975, 2) = 4.303, t(0.975, 9) = 2.262).
    @Test(arguments: [(0.975, 1, 12.706204736174694), (0.975, 2, 4.302652729749462), (0.975, 3, 3.1824463052837078),
                      (0.975, 4, 2.7764451051977934), (0.975, 9, 2.262157162798205), (0.975, 29, 2.045229642132703),
                      (0.95, 5, 2.0150483733330233), (0.975, 1000, 1.9623390808264083), (0.995, 10, 3.16927267261695)])
    func tQuantiles(probability: Double, degreesOfFreedom: Int, expected: Double) {
        // The bisection stops at 1e-12 relative; the continued fraction is good to ~1e-14.
        #expect(abs(studentTQuantile(probability, degreesOfFreedom: degreesOfFreedom) - expected) < 1e-9 * expected)
        #expect(abs(studentTQuantile(1 - probability, degreesOfFreedom: degreesOfFreedom) + expected) < 1e-9 * expected)
    }

    /// One and two degrees of freedom have closed forms: tan(π(p − ½)) and (2p − 1)/√(2p(1 − p)).
    @Test func tQuantileClosedForms() {
        for p in [0.6, 0.9, 0.975, 0.999] {
            #expect(abs(studentTQuantile(p, degreesOfFreedom: 1) - tan(Double.pi * (p - 0.5))) < 1e-9 * tan(Double.pi * (p - 0.5)))
            let two = (2 * p - 1) / (2 * p * (1 - p)).squareRoot()
            #expect(abs(studentTQuantile(p, degreesOfFreedom: 2) - two) < 1e-9 * two)
        }
        #expect(studentTQuantile(0.5, degreesOfFreedom: 7) == 0)
    }

    /// Values 1, 2, 3: mean 2, sample deviation 1, interval 2 ± 4.3027 / √3 = [−0.4842, 4.4842].
    @Test func meanIntervalByHand() {
        let summary = MeanInterval([1, 2, 3])
        #expect(summary.count == 3 && summary.mean == 2)
        #expect(summary.standardDeviation == 1)
        let halfWidth = 4.302652729749462 / 3.0.squareRoot()
        #expect(abs(summary.lower! - (2 - halfWidth)) < 1e-9 && abs(summary.upper! - (2 + halfWidth)) < 1e-9)
        #expect(abs(halfWidth - 2.4841) < 1e-4)
        let one = MeanInterval([5])
        #expect(one.mean == 5 && one.standardDeviation == nil && one.lower == nil)
    }
}
