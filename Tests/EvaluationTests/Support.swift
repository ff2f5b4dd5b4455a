import Evaluation
import Foundation
import SessionData
import TensorCore
import Testing
import TestSupport

/// Training sessions for the baseline tests, oldest first, items 1...5:
///
///     s0: 1 2 3      s1: 2 3 4      s2: 1 3      s3: 4 5 4
///
/// Sessions containing each item: S1 = {s0, s2}, S2 = {s0, s1}, S3 = {s0, s1, s2}, S4 = {s1, s3}, S5 = {s3}.
/// Clicks: 1 ×2, 2 ×2, 3 ×3, 4 ×3, 5 ×1.
let tinySessions: [[Int32]] = [[1, 2, 3], [2, 3, 4], [1, 3], [4, 5, 4]]
let tinyItemCount = 5

/// `actual` (Float scores) equals `expected` (exact arithmetic in Double) within float32 rounding of
/// sums of a handful of terms.
func expectScores(_ actual: [Float], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
    let violation = closenessViolation(actual, expected.map(Float.init), absolute: 1e-6, relative: 1e-6)
    #expect(violation == nil, "scores \(actual) vs expected \(expected)", sourceLocation: sourceLocation)
}
