import Foundation
import Testing

/// `srgnn bench --items N --loss sampled` (issue 31): a synthetic catalogue of any size, the
/// sampled step timed without the full softmax's floor, and the latency floor reported.
@Suite struct BenchScaleTests {
    @Test func benchRunsASampledStepOnASyntheticCatalogue() throws {
        let run = try runSRGNN([
            "bench", "--items", "3000", "--loss", "sampled", "--negatives", "64", "--train-batches", "3", "--eval-examples", "200",
            "--latency-requests", "10", "--json",
        ])
        #expect(run.status == 0, "\(run.error)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        #expect(result["items"] as? Int == 3000)
        #expect(result["loss"] as? String == "sampled")
        #expect((result["source"] as? String)?.hasPrefix("synthetic, 3000 items") == true)
        #expect(result["floor_ms"] == nil && result["train_step_over_floor"] == nil, "no full-softmax floor for a sampled step")
        let bandwidth = try #require(result["memory_bandwidth_gb_per_s"] as? Double)
        let floor = try #require(result["latency_floor_ms"] as? Double)
        #expect(bandwidth > 0 && floor > 0)
        // The item matrix (3,001 × 100 floats) over the measured bandwidth.
        #expect(abs(floor - 3_001 * 100 * 4 / (bandwidth * 1e9) * 1000) < 1e-6 * max(1, floor))
        #expect((result["train_examples_per_s"] as? Double ?? 0) > 0)
    }

    @Test func benchRefusesBadScaleOptions() throws {
        for arguments in [["--items", "1"], ["--loss", "sampled", "--negatives", "0"], ["--sample-alpha", "3"]] {
            let run = try runSRGNN(["bench"] + arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.error.contains("--items must be in") || run.error.contains("--negatives must be in"), "\(run.error)")
        }
    }
}
