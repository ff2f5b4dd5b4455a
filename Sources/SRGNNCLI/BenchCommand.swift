import ArgumentParser
import Foundation
import SRGNN
import Training

/// `srgnn bench`: training and evaluation throughput, single-session latency, peak memory and the
/// BLAS floor, in one run at Diginetica size.
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

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard trainBatches >= 1, evalExamples >= 1, evalBatch >= 1, evalTile >= 1, latencyRequests >= 2, threads >= 1, batchSize >= 1 else {
            throw ValidationError("counts, --threads and --batch-size must be positive (--latency-requests at least 2)")
        }
    }

    func run() throws {
        setBLASThreads(1)  // we split products over threads ourselves (see gemm(threads:))
        let (source, itemCount, prefixes, targets) = loadExamples()
        func log(_ message: String) { if !json { print(message) } }
        log("examples: \(source), \(prefixes.count) examples, \(itemCount) items, d=\(hiddenSize), batch \(batchSize), \(threads) threads")

        let configuration = SRGNNConfiguration(itemCount: itemCount, hiddenSize: hiddenSize)
        var step = TrainingStep(model: try SRGNNModel(configuration: configuration, seed: 1), learningRate: 1e-3,
                                weightDecay: 1e-5, threads: threads)
        var order = Array(prefixes.indices)
        var generator = SeededGenerator(seed: 7)
        order.shuffle(using: &generator)
        func batch(_ index: Int, size: Int) -> (prefixes: [ArraySlice<Int32>], targets: [Int32]) {
            let start = (index * size) % max(1, order.count - size)
            let slice = order[start..<min(order.count, start + size)]
            return (slice.map { prefixes[$0] }, slice.map { targets[$0] })
        }

        // Training step (batch building, forward, backward, Adam) and the floor (the three score
        // products alone), timed in turns so that a slow spell of the machine hits both alike.
        let floor = ScoreProductFloor(itemCount: itemCount, batchSize: batchSize, hiddenSize: hiddenSize, threads: threads)
        for i in 0..<3 { let b = batch(i, size: batchSize); step(prefixes: b.prefixes, targets: b.targets); _ = floor.run() }
        var trainSeconds = 0.0, floorSeconds = 0.0
        var trainedExamples = 0
        for i in 0..<trainBatches {
            let b = batch(i + 3, size: batchSize)
            let start = DispatchTime.now()
            step(prefixes: b.prefixes, targets: b.targets)
            trainSeconds += seconds(since: start)
            trainedExamples += b.targets.count
            floorSeconds += floor.run()
        }
        let trainStepMs = trainSeconds / Double(trainBatches) * 1000
        let floorMs = floorSeconds / Double(trainBatches) * 1000

        // Evaluation as `srgnn evaluate` runs it: every target ranked among all items.
        let model = step.model
        let evaluated = min(evalExamples, prefixes.count)
        let evaluationSet = ExampleSet(prefixes: order[0..<evaluated].map { Array(prefixes[$0]) },
                                       targets: order[0..<evaluated].map { targets[$0] })
        let evalStart = DispatchTime.now()
        let ranks = model.rankTargets(evaluationSet, batchSize: evalBatch, threads: threads, tileItems: evalTile)
        let evalSeconds = seconds(since: evalStart)
        let hits = ranks.filter { $0 <= 20 }.count

        // Latency of one session, as a server sees it (its own workspace, batch of one).
        var latencies = [Double]()
        latencies.reserveCapacity(latencyRequests)
        let latencyWorkspace = SRGNNWorkspace()
        for i in 0..<latencyRequests {
            let session = Array(prefixes[order[i % order.count]])
            let start = DispatchTime.now()
            _ = try model.recommend(sessions: [session], k: 20, workspace: latencyWorkspace, threads: threads)
            latencies.append(seconds(since: start) * 1000)
        }
        latencies.sort()
        let p50 = latencies[latencies.count / 2]
        let p99 = latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]

        let result: [(String, Any)] = [
            ("source", source),
            ("threads", threads),
            ("items", itemCount),
            ("hidden_size", hiddenSize),
            ("batch_size", batchSize),
            ("train_examples_per_s", Double(trainedExamples) / trainSeconds),
            ("train_step_ms", trainStepMs),
            ("floor_ms", floorMs),
            ("train_step_over_floor", trainStepMs / floorMs),
            ("eval_examples_per_s", Double(evaluated) / evalSeconds),
            ("eval_batch", evalBatch),
            ("eval_tile", evalTile),
            ("eval_hit_rate_at_20_untrained", Double(hits) / Double(evaluated)),
            ("latency_p50_ms", p50),
            ("latency_p99_ms", p99),
            ("peak_rss_bytes", peakResidentBytes()),
        ]
        if json {
            let fields = result.map { key, value -> String in
                switch value {
                case let text as String: return "\"\(key)\":\"\(text)\""
                case let number as Double: return "\"\(key)\":\(String(format: "%.4f", number))"
                default: return "\"\(key)\":\(value)"
                }
            }
            print("{\(fields.joined(separator: ","))}")
        } else {
            for (key, value) in result {
                if let number = value as? Double { print("\(key): \(String(format: "%.3f", number))") } else { print("\(key): \(value)") }
            }
        }
    }

    /// Training examples: the dataset's when readable, else synthetic ones of Diginetica's shape.
    func loadExamples() -> (source: String, itemCount: Int, prefixes: [ArraySlice<Int32>], targets: [Int32]) {
        if let dataset = try? SessionDataset.load(from: data) {
            let train = dataset.train
            return ("\(data) (real)", dataset.itemCount, (0..<train.count).map { train.prefix($0) }, train.targets)
        }
        let log = SyntheticClickLog(itemCount: 43_097, sessionCount: 40_000, seed: 3)
        let sessions = log.sessions()
        var prefixes = [ArraySlice<Int32>](), targets = [Int32]()
        for session in sessions {
            for cut in stride(from: session.count - 1, through: 1, by: -1) {
                prefixes.append(session[0..<cut])
                targets.append(session[cut])
            }
        }
        return ("synthetic (Diginetica-like lengths)", 43_097, prefixes, targets)
    }

    /// Milliseconds of `[B,d]·[d,I]` and its two backward products, averaged over repetitions.
}

/// The floor of a training step: its three score products alone, `[B, d] × [d, I]` and the two
/// backward ones, split over the threads as the step splits them (BLAS single-threaded, dE written
/// with beta 0 as the step writes it).
final class ScoreProductFloor {
    let b: Int, d: Int, itemCount: Int, threads: Int
    let embedding: [Float], session: [Float]
    var scores: [Float], dEmbedding: [Float], dSession: [Float]

    init(itemCount: Int, batchSize: Int, hiddenSize: Int, threads: Int) {
        (b, d, self.itemCount, self.threads) = (batchSize, hiddenSize, itemCount, threads)
        var generator = SeededGenerator(seed: 5)
        embedding = (0..<((itemCount + 1) * hiddenSize)).map { _ in generator.uniform(-0.1, 0.1) }
        session = (0..<(batchSize * hiddenSize)).map { _ in generator.uniform(-0.1, 0.1) }
        scores = [Float](repeating: 0, count: batchSize * itemCount)
        dEmbedding = [Float](repeating: 0, count: (itemCount + 1) * hiddenSize)
        dSession = [Float](repeating: 0, count: batchSize * hiddenSize)
    }

    /// Seconds for one round of the three products.
    func run() -> Double {
        let (b, d, itemCount, threads) = (self.b, self.d, self.itemCount, self.threads)
        let start = DispatchTime.now()
        embedding.withUnsafeBufferPointer { e in
            session.withUnsafeBufferPointer { h in
                scores.withUnsafeMutableBufferPointer { s in
                    dEmbedding.withUnsafeMutableBufferPointer { de in
                        dSession.withUnsafeMutableBufferPointer { ds in
                            let e = e.baseAddress!, h = h.baseAddress!, s = s.baseAddress!
                            gemm(.none, .transposed, m: b, n: itemCount, k: d, h, lda: d, e + d, ldb: d, s, ldc: itemCount, threads: threads)
                            gemm(.transposed, .none, m: itemCount, n: d, k: b, s, lda: itemCount, h, ldb: d,
                                 de.baseAddress! + d, ldc: d, threads: threads)
                            gemm(.none, .none, m: b, n: d, k: itemCount, s, lda: itemCount, e + d, ldb: d,
                                 ds.baseAddress!, ldc: d, threads: threads)
                        }
                    }
                }
            }
        }
        return seconds(since: start)
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// Peak resident set size of this process, in bytes (getrusage's maxrss is in KiB on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(Linux)
    return usage.ru_maxrss * 1024
    #else
    return usage.ru_maxrss
    #endif
}
