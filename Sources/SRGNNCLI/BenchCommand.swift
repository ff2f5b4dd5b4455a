import ArgumentParser
import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore
import Training

/// `srgnn bench`: training and evaluation throughput, single-session latency, peak memory and the
/// floor (the three score products alone, by the fastest implementation here), in one run at
/// Diginetica size; it reports what ran: the kernel path, the BLAS library and the core it
/// detected, the CPU model and the threads.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and evaluation speed, latency and memory at Diginetica size.",
        discussion: """
            Uses real Diginetica training examples when --data points at a readable dataset folder \
            (default ../shared/data/diginetica), else synthetic sessions of Diginetica's length \
            distribution over the same 43,097 items. Build with -c release for meaningful numbers.
            """
    )

    @Option(help: "Dataset folder with training examples (falls back to synthetic sessions when unreadable).")
    var data: String = "../shared/data/diginetica"

    @Option(help: "Training batches to time (after 3 warm-up batches); each is followed by one timing of the floor.")
    var trainBatches: Int = 200

    @Option(help: "Test examples to evaluate.")
    var evalExamples: Int = 20_000

    @Option(help: "Sessions per evaluation batch.")
    var evalBatch: Int = 500

    @Option(help: "Items per tile when ranking (see SRGNNModel.rankTargets).")
    var evalTile: Int = 1024

    @Option(help: "Single-session requests to time for latency.")
    var latencyRequests: Int = 2_000

    @Option(help: "Worker threads for our loops and BLAS.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Hidden size.")
    var hiddenSize: Int = 100

    @Option(help: "Training batch size.")
    var batchSize: Int = 100

    @Option(
        help:
            "Model variant to time: 'srgnn' or 'niser' (NISER+ with the paper's settings: normalisation, σ, position embeddings, dropout).")
    var variant: ModelVariant = .srgnn

    @Option(
        help:
            "A synthetic catalogue of this many items instead of --data's examples (sessions: 40,000 or items / 5, whichever is more; srgnn synth's generator, popularity exponent 0.8)."
    )
    var items: Int?

    @Option(help: "The training objective to time: full (the default) or sampled (then no floor is timed).")
    var loss: TrainingLoss = .full

    @Option(help: "--loss sampled: shared negatives per batch.")
    var negatives = TrainingConfiguration().negatives

    @Option(help: "--loss sampled: the sampling exponent.")
    var sampleAlpha = TrainingConfiguration().sampleAlpha

    @Option(help: "Candidates the approximate retrieval rescores per session (its latency and recall@20 are timed after the exact ones).")
    var retrievalCandidates = Retrieval.defaultCandidates

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard trainBatches >= 1, evalExamples >= 1, evalBatch >= 1, evalTile >= 1, latencyRequests >= 2, threads >= 1, batchSize >= 1 else {
            throw ValidationError("counts, --threads and --batch-size must be positive (--latency-requests at least 2)")
        }
        if let items, !(2...InputLimits.maximumItemCount).contains(items) {
            throw ValidationError("--items must be in 2...\(InputLimits.maximumItemCount), got \(items)")
        }
        guard (1...TrainingConfiguration.limits.negatives).contains(negatives), (0...2).contains(sampleAlpha) else {
            throw ValidationError("--negatives must be in 1...\(TrainingConfiguration.limits.negatives) and --sample-alpha in 0...2")
        }
        guard (1...Retrieval.maximumCandidates).contains(retrievalCandidates) else {
            throw ValidationError("--retrieval-candidates must be in 1...\(Retrieval.maximumCandidates)")
        }
    }

    func run() throws {
        setBLASThreads(1)  // we split products over threads ourselves (see gemm(threads:))
        let (source, itemCount, prefixes, targets) = loadExamples()
        func log(_ message: String) { if !json { print(message) } }
        log("examples: \(source), \(prefixes.count) examples, \(itemCount) items, d=\(hiddenSize), batch \(batchSize), \(threads) threads")
        // A lone session streams the whole item matrix once: its size over the memory bandwidth,
        // measured before training so that its buffer does not add to the peak memory reported.
        let itemBytes = (itemCount + 1) * hiddenSize * MemoryLayout<Float>.size
        let bandwidth = MemoryBandwidth.measure(threads: threads, bytes: min(2 * itemBytes, 1 << 30))
        let latencyFloorMs = Double(itemBytes) / bandwidth * 1000

        var configuration = SRGNNConfiguration(itemCount: itemCount, hiddenSize: hiddenSize)
        variant.configure(&configuration)
        log("variant: \(variant.rawValue)")
        var step = TrainingStep(
            model: try SRGNNModel(configuration: configuration, seed: 1), learningRate: 1e-3,
            l2Penalty: 1e-5, threads: threads)
        if loss == .sampled {
            var counts = [Int](repeating: 0, count: itemCount)
            for target in targets { counts[Int(target) - 1] += 1 }
            step.sampling = SampledLoss(targetCounts: counts, alpha: sampleAlpha, negatives: negatives, hiddenSize: hiddenSize, seed: 1)
        }
        log("loss: \(loss.rawValue)\(loss == .sampled ? " (\(negatives) negatives, alpha \(sampleAlpha))" : "")")
        var order = Array(prefixes.indices)
        var generator = SeededGenerator(seed: 7)
        order.shuffle(using: &generator)
        func batch(_ index: Int, size: Int) -> (prefixes: [ArraySlice<Int32>], targets: [Int32]) {
            let start = (index * size) % max(1, order.count - size)
            let slice = order[start..<min(order.count, start + size)]
            return (slice.map { prefixes[$0] }, slice.map { targets[$0] })
        }

        // Training step (batch building, forward, backward, Adam) and the floor (the three score
        // products alone, of the full softmax only), timed in turns so that a slow spell of the
        // machine hits both alike.
        let floor =
            loss == .full ? ScoreProductFloor(itemCount: itemCount, batchSize: batchSize, hiddenSize: hiddenSize, threads: threads) : nil
        for i in 0..<3 { let b = batch(i, size: batchSize); step(prefixes: b.prefixes, targets: b.targets); _ = floor?.run() }
        floor?.calibrate()  // the floor's fastest implementation here: our kernel or BLAS
        log(
            "kernel: \(ScoreKernels.defaultPath) (supported: \(ScoreKernels.supportedPaths.map(\.rawValue).joined(separator: ", "))), floor: \(floor?.path.rawValue ?? "none")"
        )
        var trainSeconds = 0.0, floorSeconds = 0.0
        var trainedExamples = 0
        let phasesBefore = step.phaseSeconds
        for i in 0..<trainBatches {
            let b = batch(i + 3, size: batchSize)
            let start = DispatchTime.now()
            step(prefixes: b.prefixes, targets: b.targets)
            trainSeconds += seconds(since: start)
            trainedExamples += b.targets.count
            floorSeconds += floor?.run() ?? 0
        }
        let trainStepMs = trainSeconds / Double(trainBatches) * 1000
        let phases = step.phaseSeconds.since(phasesBefore)
        func perStep(_ seconds: Double) -> Double { seconds / Double(trainBatches) * 1000 }
        let phaseMs = StepPhaseMilliseconds(
            batch: perStep(phases.batch), forward: perStep(phases.forward), loss: perStep(phases.loss),
            backward: perStep(phases.backward), update: perStep(phases.update))
        let floorMs = floor == nil ? nil : floorSeconds / Double(trainBatches) * 1000

        // Evaluation as `srgnn evaluate` runs it (every target ranked among all items), then the
        // latency of one session as a server sees it (a workspace from the pool, batch of one, items
        // prepared at load), exact, then approximate with its recall@20 against exact. One prepared
        // model at a time: its items are the size of the embedding (2 GB at 5 M items).
        let sessions = (0..<latencyRequests).map { Array(prefixes[order[$0 % order.count]]) }
        let (evaluation, exactLatency, exactAnswers) = try {
            let inference = InferenceModel(step.model)
            let evaluated = min(evalExamples, prefixes.count)
            let examples = order[0..<evaluated].map { TestExample(prefix: prefixes[$0], target: targets[$0]) }
            let evaluation = Evaluator(cutoffs: [20], listLength: nil, threads: threads, ties: .optimistic)
                .evaluate(SRGNNScorer(inference: inference, batchSize: evalBatch, tileItems: evalTile), on: examples)
            let (latency, answers) = try Self.latencies(of: inference, sessions: sessions, threads: threads)
            return (evaluation, latency, answers)
        }()
        let approximate = InferenceModel(step.model, retrieval: .approximate(candidates: retrievalCandidates))
        let (approximateLatency, approximateAnswers) = try Self.latencies(of: approximate, sessions: sessions, threads: threads)
        let recall =
            zip(exactAnswers, approximateAnswers).map { exact, approximate in
                Double(Set(exact.map(\.id)).intersection(approximate.map(\.id)).count) / Double(max(1, exact.count))
            }.reduce(0, +) / Double(sessions.count)

        let result = BenchResult(
            source: source, variant: variant.rawValue, loss: loss.rawValue, kernelPath: ScoreKernels.defaultPath.rawValue,
            floorPath: floor?.path.rawValue,
            blasLibrary: BLASInfo.library, blasCore: BLASInfo.detectedCore ?? "n/a", cpuModel: cpuModelName(),
            threads: threads, items: itemCount, hiddenSize: hiddenSize, batchSize: batchSize,
            trainExamplesPerSecond: Double(trainedExamples) / trainSeconds, trainStepMilliseconds: trainStepMs,
            floorMilliseconds: floorMs, trainStepOverFloor: floorMs.map { trainStepMs / $0 }, trainPhaseMilliseconds: phaseMs,
            evalExamplesPerSecond: evaluation.examplesPerSecond, evalBatch: evalBatch, evalTile: evalTile,
            evalHitRateAt20Untrained: (evaluation.metrics(at: 20)?.hitRate ?? 0) / 100,
            latencyP50Milliseconds: exactLatency.p50, latencyP99Milliseconds: exactLatency.p99,
            approximateCandidates: retrievalCandidates, approximateLatencyP50Milliseconds: approximateLatency.p50,
            approximateLatencyP99Milliseconds: approximateLatency.p99, approximateRecallAt20: recall,
            memoryBandwidthGBps: bandwidth / 1e9,
            latencyFloorMilliseconds: latencyFloorMs, peakResidentBytes: peakResidentBytes())
        if json {
            print(try JSONText.string(result))
        } else {
            for line in result.lines { print(line) }
        }
    }

    /// Each session's top 20 from `model` alone, timed: the median and 99th percentile in ms, and the answers.
    static func latencies(
        of model: InferenceModel, sessions: [[Int32]], threads: Int
    ) throws -> (
        (p50: Double, p99: Double), [[ScoredItem<Int32>]]
    ) {
        var milliseconds = [Double](), answers = [[ScoredItem<Int32>]]()
        for session in sessions {
            let start = DispatchTime.now()
            answers.append(try model.recommend(sessions: [session], k: 20, threads: threads)[0])
            milliseconds.append(seconds(since: start) * 1000)
        }
        milliseconds.sort()
        return (
            (milliseconds[milliseconds.count / 2], milliseconds[min(milliseconds.count - 1, Int(Double(milliseconds.count) * 0.99))]),
            answers
        )
    }

    /// Training examples: the dataset's when readable, else synthetic ones of Diginetica's shape.
    func loadExamples() -> (source: String, itemCount: Int, prefixes: [ArraySlice<Int32>], targets: [Int32]) {
        if let items {
            let log = SyntheticClickLog(itemCount: items, sessionCount: max(40_000, items / 5), seed: 3, popularityExponent: 0.8)
            let examples = ExampleSet.augmenting(SessionList(log.sessions()))
            return ("synthetic, \(items) items", items, (0..<examples.count).map { examples.prefix($0) }, examples.targets)
        }
        if let dataset = try? SessionDataset.load(from: data) {
            let train = dataset.train
            return ("\(data) (real)", dataset.itemCount, (0..<train.count).map { train.prefix($0) }, train.targets)
        }
        let log = SyntheticClickLog(itemCount: 43_097, sessionCount: 40_000, seed: 3)
        let sessions = log.sessions()
        let examples = ExampleSet.augmenting(SessionList(sessions))
        return ("synthetic (Diginetica-like lengths)", 43_097, (0..<examples.count).map { examples.prefix($0) }, examples.targets)
    }
}

/// What `srgnn bench` measured (`--json` prints it with these keys).
struct BenchResult: Encodable {
    var source: String
    /// The model timed (`--variant`) and its objective (`--loss`).
    var variant, loss: String
    /// The score layer's kernel (`ScoreKernels.defaultPath`, the models' path) and the floor's
    /// faster implementation (none for the sampled softmax, whose products are not the full ones).
    var kernelPath: String
    var floorPath: String?
    /// The BLAS library (OpenBLAS's build configuration, or Accelerate) and the core it detected.
    var blasLibrary: String
    var blasCore: String
    var cpuModel: String
    var threads, items, hiddenSize, batchSize: Int
    var trainExamplesPerSecond, trainStepMilliseconds: Double
    var floorMilliseconds, trainStepOverFloor: Double?
    /// The training step's phases, ms per step.
    var trainPhaseMilliseconds: StepPhaseMilliseconds
    var evalExamplesPerSecond: Double
    var evalBatch, evalTile: Int
    var evalHitRateAt20Untrained: Double
    var latencyP50Milliseconds, latencyP99Milliseconds: Double
    /// Approximate retrieval (`Retrieval.approximate`): candidates rescored, latency, and the
    /// share of exact ranking's top 20 it returns (mean over the timed sessions).
    var approximateCandidates: Int
    var approximateLatencyP50Milliseconds, approximateLatencyP99Milliseconds, approximateRecallAt20: Double
    /// Reading memory with `threads` threads, and the item matrix's size over it: the least time
    /// one session's full ranking can take.
    var memoryBandwidthGBps, latencyFloorMilliseconds: Double
    var peakResidentBytes: Int

    enum CodingKeys: String, CodingKey {
        case source, variant, loss, kernelPath = "kernel_path", floorPath = "floor_path", blasLibrary = "blas_library"
        case blasCore = "blas_core", cpuModel = "cpu_model", threads, items, hiddenSize = "hidden_size", batchSize = "batch_size"
        case trainExamplesPerSecond = "train_examples_per_s", trainStepMilliseconds = "train_step_ms"
        case floorMilliseconds = "floor_ms", trainStepOverFloor = "train_step_over_floor", trainPhaseMilliseconds = "train_phase_ms"
        case evalExamplesPerSecond = "eval_examples_per_s", evalBatch = "eval_batch", evalTile = "eval_tile"
        case evalHitRateAt20Untrained = "eval_hit_rate_at_20_untrained"
        case latencyP50Milliseconds = "latency_p50_ms", latencyP99Milliseconds = "latency_p99_ms"
        case approximateCandidates = "approximate_candidates", approximateLatencyP50Milliseconds = "approximate_latency_p50_ms"
        case approximateLatencyP99Milliseconds = "approximate_latency_p99_ms", approximateRecallAt20 = "approximate_recall_at_20"
        case memoryBandwidthGBps = "memory_bandwidth_gb_per_s", latencyFloorMilliseconds = "latency_floor_ms"
        case peakResidentBytes = "peak_rss_bytes"
    }

    /// `name: value` lines for the terminal.
    var lines: [String] {
        Mirror(reflecting: self).children.map { child in
            let value = (child.value as? Double).map { String(format: "%.3f", $0) } ?? "\(child.value)"
            return "\(child.label ?? "?"): \(value)"
        }
    }
}

/// How fast this machine reads memory: the best of three parallel sums over `bytes` (at least
/// 64 MiB, beyond the last-level caches of the CPUs we run on), in bytes/s.
enum MemoryBandwidth {
    static func measure(threads: Int, bytes: Int = 64 << 20) -> Double {
        let count = max(bytes, 64 << 20) / MemoryLayout<Float>.size
        // Huge pages, as the prepared item matrices have (`adviseHugePages`): the machine's best.
        let buffer = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            adviseHugePages(UnsafeMutableRawPointer(buffer.baseAddress!), bytes: count * MemoryLayout<Float>.size)
            buffer.initialize(repeating: 1)
            initialized = count
        }
        var best = Double.infinity
        var sums = [Float](repeating: 0, count: max(1, threads))
        for _ in 0..<3 {
            let start = DispatchTime.now()
            buffer.withUnsafeBufferPointer { values in
                sums.withUnsafeMutableBufferPointer { sums in
                    nonisolated(unsafe) let sums = sums
                    parallelFor(max(1, threads), threads: threads) { worker in
                        let chunk = count / max(1, threads), first = worker * chunk
                        let last = worker == threads - 1 ? count : first + chunk
                        var accumulator = SIMD16<Float>()
                        var i = first
                        let base = UnsafeRawPointer(values.baseAddress!)
                        while i + 16 <= last {
                            accumulator += base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                            i += 16
                        }
                        sums[worker] = accumulator.sum()
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        }
        precondition(sums.reduce(0, +) > 0, "the sum is used, so the reads are not optimised away")
        return Double(count * MemoryLayout<Float>.size) / best
    }
}

/// A training step's phases (`StepPhases`), ms per step.
struct StepPhaseMilliseconds: Encodable, CustomStringConvertible {
    var batch, forward, loss, backward, update: Double

    var description: String {
        String(format: "batch %.2f, forward %.2f, loss %.2f, backward %.2f, update %.2f", batch, forward, loss, backward, update)
    }
}

/// The CPU's model name (`/proc/cpuinfo` on Linux, `machdep.cpu.brand_string` on Apple).
func cpuModelName() -> String {
    #if os(Linux)
    if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") || $0.hasPrefix("Model") }),
        let colon = line.firstIndex(of: ":")
    {
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return "unknown"
    #else
    var size = 0
    guard sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 else { return "unknown" }
    var bytes = [CChar](repeating: 0, count: size)
    guard sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 else { return "unknown" }
    return String(cString: bytes)
    #endif
}

/// Peak resident set size of this process, in bytes (getrusage's maxrss is in KiB on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
    #else
    getrusage(RUSAGE_SELF, &usage)
    return usage.ru_maxrss
    #endif
}
