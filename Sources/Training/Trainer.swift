import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore

/// What a trainer tells whoever watches it (the command line draws a progress bar from it).
public protocol TrainingObserver: AnyObject {
    func batchFinished(epoch: Int, examplesDone: Int, examplesTotal: Int, runningLoss: Double, seconds: Double)
    func epochFinished(_ record: EpochRecord, selected: Bool)
    func note(_ message: String)
}

/// The outcome of a run.
public struct TrainingResult: Sendable {
    public var history: [EpochRecord]
    /// Epoch (0-based) of the saved checkpoint: the best by HR@K on the selection set.
    public var bestEpoch: Int
    /// Best HR@K and MRR@K on the selection set and the epochs where each was reached (the
    /// reference reports the two maxima separately).
    public var bestHitRate: (value: Double, epoch: Int)
    public var bestReciprocalRank: (value: Double, epoch: Int)
    public var stoppedEarly: Bool
}

/// Trains SR-GNN on a dataset, epoch by epoch, as the reference does: shuffle, batches of
/// `batchSize`, Adam with L2, step decay, evaluation after each epoch, patience.
///
/// Epoch `e`'s shuffle comes from `seed` and `e` alone, so a run resumed from its last completed
/// epoch continues exactly as an uninterrupted one would.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let dataset: SessionDataset
    public let checkpointPath: String
    public let datasetPath: String?
    /// The checkpoint this run continues from, if any, and how many items the data added to it.
    public let warmStart: WarmStart?
    public let addedItems: Int
    /// Indices into `dataset.train` used for training and held out for validation.
    public let trainIndices: [Int]
    public let validationIndices: [Int]
    /// `dataset.fingerprint`: saved in the state and the checkpoint, checked on resume.
    public let datasetFingerprint: String
    /// Whether the test set is measured after each epoch (it never chooses anything). The tuner
    /// turns it off: a search must not look at the test set at all.
    public var evaluatesTest = true
    /// The experiment file the run was configured by, recorded in the checkpoint.
    public var experiment: ExperimentSource?

    public var logPath: String { checkpointPath + ".log.jsonl" }
    public var statePath: String { checkpointPath + ".state" }

    /// With `warmStart`, `dataset` is taken into the parent's grown vocabulary (``WarmStart``) and
    /// the configuration's architecture must be the parent's.
    public init(
        configuration: TrainingConfiguration, dataset: SessionDataset, checkpointPath: String,
        datasetPath: String? = nil, warmStart: WarmStart? = nil
    ) throws {
        try configuration.validate()
        guard dataset.train.count > 0 else {
            throw TrainingError.invalidConfiguration("the dataset has no training examples")
        }
        try warmStart?.checkArchitecture(of: configuration)
        self.configuration = configuration
        self.warmStart = warmStart
        (self.dataset, self.addedItems) = warmStart?.grow(dataset) ?? (dataset, 0)
        self.checkpointPath = checkpointPath
        self.datasetPath = datasetPath
        self.datasetFingerprint = self.dataset.fingerprint
        (trainIndices, validationIndices) = Trainer.split(dataset.train, configuration: configuration)
        guard !trainIndices.isEmpty else {
            throw TrainingError.invalidConfiguration("the validation fraction leaves no training examples")
        }
    }

    /// Epoch `epoch`'s dropout stream: from the seed and the epoch alone (like the shuffle), on a
    /// stream apart from the shuffle's.
    /// The generator of `--loss sampled`'s negatives for `epoch`, seeded like the dropout's (a
    /// resumed run draws the same negatives), on a stream of its own.
    public static func negativesGenerator(seed: UInt64, epoch: Int) -> SeededGenerator {
        SeededGenerator(seed: (seed ^ 0x5EED_0F5A_3B1E_D000) &+ 0xD1B5_4A32_D192_ED03 &* UInt64(epoch + 1))
    }

    /// How often each item (index `item − 1`) is the target of the training examples at `indices`:
    /// the sampled softmax's popularity.
    static func targetCounts(_ examples: ExampleSet, indices: [Int], itemCount: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: itemCount)
        for index in indices { counts[Int(examples.targets[index]) - 1] += 1 }
        return counts
    }

    public static func dropoutGenerator(seed: UInt64, epoch: Int) -> SeededGenerator {
        SeededGenerator(seed: (seed ^ 0xD5A6_1266_F0C9_392C) &+ 0x9E37_79B9 &* UInt64(epoch + 1))
    }

    /// The model before the first step: the seeded initialisation, with a warm start's parent
    /// weights copied over it.
    public func initialModel() throws -> SRGNNModel {
        var model = try SRGNNModel(configuration: configuration.modelConfiguration(itemCount: dataset.itemCount), seed: configuration.seed)
        if let warmStart { model.parameters = warmStart.initialParameters(fresh: model.parameters) }
        return model
    }

    /// The step before the first batch: the initial model, a warm start's optimizer state (not
    /// when resuming, which restores its own), and `--loss sampled`'s sampler over the training targets.
    func firstStep(resume: Bool) throws -> TrainingStep {
        var step = TrainingStep(
            model: try initialModel(), learningRate: configuration.learningRate,
            l2Penalty: configuration.l2Penalty, threads: configuration.threads)
        if !resume, let moments = try warmStart?.optimizerState(embeddingRows: dataset.embeddingRows) {
            step.optimizer.restore(stepCount: moments.steps, firstMoment: moments.first, secondMoment: moments.second)
        }
        if configuration.loss == .sampled {
            step.sampling = SampledLoss(
                targetCounts: Trainer.targetCounts(dataset.train, indices: trainIndices, itemCount: dataset.itemCount),
                alpha: configuration.sampleAlpha, negatives: configuration.negatives, hiddenSize: configuration.hiddenSize, seed: 0)
        }
        return step
    }

    /// The examples an epoch measures of a set whose examples are `indices`: all of them when
    /// `budget` is 0 or not below their number, else a uniform sample of `budget` of them drawn by
    /// `seed` (the same for every epoch and every run of the seed), in their original order.
    public static func evaluationSample(_ indices: [Int], budget: Int, seed: UInt64) -> [Int] {
        guard budget > 0, indices.count > budget else { return indices }
        var pool = indices
        var generator = SeededGenerator(seed: seed &+ 0x5EED_E7A1)
        // The first `budget` places of a partial Fisher–Yates shuffle.
        for i in 0..<budget { pool.swapAt(i, Int.random(in: i..<pool.count, using: &generator)) }
        return pool[..<budget].sorted()
    }

    /// Trains to the end (or until patience runs out), saving the best epoch to `checkpointPath`.
    public func run(resume: Bool = false, observer: TrainingObserver? = nil) throws -> TrainingResult {
        let cutoff = configuration.cutoff
        precondition(evaluatesTest || configuration.selectOn == .validation, "selecting on the test set needs evaluatesTest")
        var step = try firstStep(resume: resume)
        try prepareOutputs(resume: resume, observer: observer)
        // Whether the files at the outputs are this run's: a new run leaves the previous run's in
        // place until its first checkpoint is renamed over them.
        var ownsOutputs = resume
        var state = RunState()
        if resume {
            state = try TrainingState.load(
                from: statePath, configuration: configuration,
                datasetFingerprint: datasetFingerprint, into: &step)
            // The log holds exactly the completed epochs: an epoch logged by a run killed before
            // its state was saved is run again, and must not appear twice.
            try writeLog(state.history)
            observer?.note("resuming after epoch \(state.completedEpochs) from \(statePath)")
        }
        if configuration.selectOn == .test {
            observer?.note("selecting the epoch on the TEST set, as the reference does: test metrics are optimistic")
        }
        // Validation and test are measured by the same evaluator as `srgnn evaluate`.
        let evaluator = Evaluator(cutoffs: [cutoff], listLength: nil, threads: configuration.threads, ties: .optimistic)
        let budget = configuration.evaluationExamples, seed = configuration.seed
        let validationExamples = TestExample.examples(
            of: dataset.train, indices: Trainer.evaluationSample(validationIndices, budget: budget, seed: seed))
        let testExamples =
            evaluatesTest
            ? TestExample.examples(
                of: dataset.test, indices: Trainer.evaluationSample(Array(0..<dataset.test.count), budget: budget, seed: seed))
            : []
        if budget > 0 && (validationIndices.count > budget || dataset.test.count > budget) {
            observer?.note(
                "measuring \(validationExamples.count) of \(validationIndices.count) validation and \(testExamples.count) of \(evaluatesTest ? dataset.test.count : 0) test examples after each epoch (--evaluation-examples)"
            )
        }
        func metrics(_ model: SRGNNModel, _ examples: [TestExample]) -> [String: Double]? {
            examples.isEmpty ? nil : evaluator.evaluate(SRGNNScorer(model: model), on: examples).keyedMetrics
        }
        var epoch = state.completedEpochs
        while epoch < configuration.epochs && state.badEpochs < configuration.patience {
            let started = DispatchTime.now()
            let rate = configuration.schedule.rate(epoch: epoch)
            step.optimizer.learningRate = rate
            var order = trainIndices
            var generator = SeededGenerator(seed: configuration.seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
            order.shuffle(using: &generator)
            step.dropoutGenerator = Trainer.dropoutGenerator(seed: configuration.seed, epoch: epoch)
            step.sampling?.generator = Trainer.negativesGenerator(seed: configuration.seed, epoch: epoch)
            var lossSum = 0.0, batches = 0, done = 0
            let train = dataset.train
            var targets = [Int32]()
            targets.reserveCapacity(configuration.batchSize)
            while done < order.count {
                let slice = order[done..<min(order.count, done + configuration.batchSize)]
                targets.removeAll(keepingCapacity: true)
                for index in slice { targets.append(train.targets[index]) }
                lossSum += Double(step(prefixes: slice.lazy.map { train.prefix($0) }, targets: targets))
                batches += 1
                done += slice.count
                observer?.batchFinished(
                    epoch: epoch, examplesDone: done, examplesTotal: order.count,
                    runningLoss: lossSum / Double(batches), seconds: seconds(since: started))
            }
            let validation = metrics(step.model, validationExamples)
            let test = metrics(step.model, testExamples)
            let record = EpochRecord(
                epoch: epoch, loss: lossSum / Double(max(batches, 1)), learningRate: Double("\(rate)") ?? Double(rate),
                seconds: seconds(since: started), validation: validation, test: test)
            state.history.append(record)

            // The reference's bookkeeping: HR and MRR maxima tracked apart (≥, so later epochs win
            // ties); an epoch that improves neither adds one to a counter that never resets.
            let selection =
                switch configuration.selectOn {
                case .validation: validation
                case .test: test
                case .last: [String: Double]?.none
                }
            var improved = false
            var selected = false
            if let selection {
                let hitRate = selection["HR@\(cutoff)"] ?? 0, reciprocalRank = selection["MRR@\(cutoff)"] ?? 0
                if hitRate >= state.bestHitRate {
                    state.bestHitRate = hitRate; state.bestHitEpoch = epoch; improved = true; selected = true
                }
                if reciprocalRank >= state.bestReciprocalRank {
                    state.bestReciprocalRank = reciprocalRank; state.bestReciprocalEpoch = epoch; improved = true
                }
            } else {
                selected = true  // nothing to select on: keep the latest epoch
                state.bestHitEpoch = epoch
                improved = true
            }
            state.badEpochs += improved ? 0 : 1
            if selected { try saveCheckpoint(step.model, epoch: epoch, record: record, history: state.history) }
            state.completedEpochs = epoch + 1
            if ownsOutputs {
                try appendLog(record)
            } else {
                // A new run's first epoch: its checkpoint is in place, so the previous run's
                // state goes (resuming it would now mix two runs) and the log is replaced.
                replacePreviousRun(checkpointSaved: selected)
                try writeLog(state.history)
                ownsOutputs = true
            }
            try TrainingState.save(state, step: step, configuration: configuration, datasetFingerprint: datasetFingerprint, to: statePath)
            observer?.epochFinished(record, selected: selected)
            epoch += 1
        }
        let stoppedEarly = state.completedEpochs < configuration.epochs
        if stoppedEarly {
            observer?.note("stopped after \(state.badEpochs) epochs without improvement (patience \(configuration.patience))")
        }
        return TrainingResult(
            history: state.history, bestEpoch: state.bestHitEpoch,
            bestHitRate: (state.bestHitRate, state.bestHitEpoch),
            bestReciprocalRank: (state.bestReciprocalRank, state.bestReciprocalEpoch),
            stoppedEarly: stoppedEarly)
    }

    func saveCheckpoint(_ model: SRGNNModel, epoch: Int, record: EpochRecord, history: [EpochRecord]) throws {
        var metrics = [String: Double]()
        for (key, value) in record.validation ?? [:] { metrics["validation." + key] = value }
        for (key, value) in record.test ?? [:] { metrics["test." + key] = value }
        metrics["loss"] = record.loss
        let metadata = CheckpointMetadata(
            model: model.configuration, vocabulary: dataset.vocabulary, epoch: epoch,
            metrics: metrics, training: configuration.jsonValue, history: try JSONValue(encoding: history),
            dataset: datasetPath, datasetFingerprint: datasetFingerprint,
            trainingData: TrainingDataSummary(dataset),
            lineage: warmStart?.lineage(addedItems: addedItems),
            recentPopularity: RecentPopularity(of: dataset.trainSessions, itemCount: dataset.itemCount),
            experiment: experiment)
        try LoadedModel.save(model: model, metadata: metadata, to: checkpointPath)
    }

    /// Before any work: no input of the run is one of its outputs, every output can be written
    /// (its folder exists and is writable; it is not a folder or a device), and temporary files
    /// left by an interrupted run are removed. Nothing of a previous run is removed here: its
    /// checkpoint, state and log stay until this run's first checkpoint replaces them
    /// (``replacePreviousRun``), so a run killed early leaves the old model whole, and a served
    /// model retrained onto its own path keeps serving meanwhile.
    func prepareOutputs(resume: Bool, observer: TrainingObserver?) throws {
        try checkInputsAreNotOutputs()
        for path in [checkpointPath, statePath, logPath] {
            do {
                try FileIO.checkWritable(path)
            } catch let error as SessionDataError {
                throw TrainingError.output(path: path, reason: error.message)
            }
            FileIO.removeStaleTemporaries(of: path)
        }
        guard !resume else { return }
        let previous = [checkpointPath, statePath, logPath].filter { FileManager.default.fileExists(atPath: $0) }
        if !previous.isEmpty {
            observer?.note(
                "a new run (no --resume): the previous run's \(previous.joined(separator: ", ")) stay until this run's first epoch replaces them"
            )
        }
    }

    /// A warm start's parent and optimizer state are read before training, but the lineage names
    /// them: an output written over one would replace the very file the new model says it grew
    /// from. Files are compared by identity (device and inode), so a symbolic link, `./x` and `x`
    /// are all caught.
    func checkInputsAreNotOutputs() throws {
        guard let warmStart else { return }
        let outputs = [(checkpointPath, "the checkpoint it writes (--out)"), (statePath, "its training state"), (logPath, "its log")]
        let inputs =
            [(warmStart.parentPath, "the parent checkpoint")] + (warmStart.optimizerStatePath.map { [($0, "the optimizer state")] } ?? [])
        for (input, role) in inputs {
            for (output, what) in outputs where FileIO.isSameFile(input, output) {
                throw TrainingError.warmStart(
                    path: input,
                    reason:
                        "\(role) is also \(what), \(output): the run would replace the file its lineage names; write the new model to another path"
                )
            }
        }
    }

    /// After a new run's first checkpoint is in place (`checkpointSaved`): the previous run's state
    /// is removed (the new one follows at once), and so is its checkpoint if this epoch saved none.
    /// Only regular files: a symbolic link is written through, never removed.
    func replacePreviousRun(checkpointSaved: Bool) {
        for path in checkpointSaved ? [statePath] : [statePath, checkpointPath] {
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            unlink(path)
        }
    }

    /// Replaces the log with one line per record, atomically.
    func writeLog(_ records: [EpochRecord]) throws {
        var text = Data()
        for record in records {
            text.append(try JSONText.data(record))
            text.append(0x0A)
        }
        try writeAtomically(text, to: logPath)
    }

    func appendLog(_ record: EpochRecord) throws {
        var line = try JSONText.data(record)
        line.append(0x0A)
        if let handle = FileHandle(forWritingAtPath: logPath) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } else {
            try writeAtomically(line, to: logPath)
        }
    }
}

/// Bookkeeping of a run between epochs.
struct RunState: Codable {
    var completedEpochs = 0
    var bestHitRate = -1.0
    var bestHitEpoch = -1
    var bestReciprocalRank = -1.0
    var bestReciprocalEpoch = -1
    var badEpochs = 0
    var history: [EpochRecord] = []
}

/// The resumable state after each epoch: parameters, Adam's moments and step count, and the run's
/// bookkeeping, in one safetensors file written atomically.
enum TrainingState {
    struct Header: Codable {
        var configuration: TrainingConfiguration
        var run: RunState
        var adamSteps: Int
        /// `SessionDataset.fingerprint` of the training data (absent in older states).
        var datasetFingerprint: String?
    }

    static func save(
        _ run: RunState, step: TrainingStep, configuration: TrainingConfiguration, datasetFingerprint: String,
        to path: String
    ) throws {
        var file = step.model.parameters.safeTensors()
        let moments = [("adam.m.", step.optimizer.firstMoment), ("adam.v.", step.optimizer.secondMoment)]
        for (prefix, moment) in moments {
            for name in moment.tensorNames {
                file.set(prefix + name.rawValue, shape: moment.shape(of: name), floats: Array(moment.storage[moment.range(of: name)]))
            }
        }
        let header = Header(
            configuration: configuration, run: run, adamSteps: step.optimizer.stepCount,
            datasetFingerprint: datasetFingerprint)
        file.metadata["srgnn.training-state"] = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        try file.write(to: path)
    }

    static func load(
        from path: String, configuration: TrainingConfiguration, datasetFingerprint: String,
        into step: inout TrainingStep
    ) throws -> RunState {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainingError.resume(path: path, reason: "no saved state (was the run started with this --out?)")
        }
        let (header, parameters, first, second) = try read(from: path)
        var saved = header.configuration, wanted = configuration
        saved.threads = 1; wanted.threads = 1; saved.epochs = 0; wanted.epochs = 0  // these may change on resume
        guard saved == wanted else {
            throw TrainingError.resume(path: path, reason: "it was made with a different configuration; resume with the same options")
        }
        if let fingerprint = header.datasetFingerprint, fingerprint != datasetFingerprint {
            throw TrainingError.resume(
                path: path,
                reason:
                    "it was trained on different data (dataset fingerprint \(fingerprint), --data has \(datasetFingerprint)); resume with the same --data, or start a new run without --resume"
            )
        }
        let run = header.run
        guard (0...configuration.epochs).contains(run.completedEpochs), run.history.count == run.completedEpochs else {
            throw TrainingError.resume(
                path: path,
                reason:
                    "its bookkeeping is inconsistent (\(run.completedEpochs) completed epochs, \(run.history.count) records; at most \(configuration.epochs) epochs)"
            )
        }
        guard parameters.embeddingRows == step.model.parameters.embeddingRows else {
            throw TrainingError.resume(
                path: path, reason: "it has \(parameters.embeddingRows - 1) items, the dataset \(step.model.configuration.itemCount)")
        }
        guard parameters.positionRows == step.model.parameters.positionRows else {
            throw TrainingError.resume(
                path: path,
                reason: "it has \(parameters.positionRows) position embeddings, the configuration \(step.model.parameters.positionRows)")
        }
        step.model.parameters = parameters
        step.optimizer.restore(stepCount: header.adamSteps, firstMoment: first, secondMoment: second)
        return header.run
    }

    /// The Adam step count and moments of a state file of `parent`'s own run (a warm start
    /// continuing its parent run's optimizer). The same shape is not enough: the state must hold
    /// the epochs the parent records (its history is the state's first epochs) and its data.
    static func loadMoments(
        from path: String, of parent: LoadedModel
    ) throws
        -> (steps: Int, first: SRGNNParameters, second: SRGNNParameters)
    {
        let parameters = parent.model.parameters
        let (header, saved, first, second) = try read(from: path)
        func shape(_ p: SRGNNParameters) -> String {
            "\(p.embeddingRows - 1) items, hidden size \(p.hiddenSize) and \(p.positionRows) position embeddings"
        }
        guard saved.embeddingRows == parameters.embeddingRows, saved.hiddenSize == parameters.hiddenSize,
            saved.positionRows == parameters.positionRows
        else {
            throw TrainingError.resume(
                path: path,
                reason:
                    "its model has \(shape(saved)), the checkpoint's \(shape(parameters)); give the state of the checkpoint's own run")
        }
        if let fingerprint = header.datasetFingerprint, let parentFingerprint = parent.metadata?.datasetFingerprint,
            fingerprint != parentFingerprint
        {
            throw TrainingError.resume(
                path: path,
                reason:
                    "it was trained on other data than the checkpoint (dataset fingerprint \(fingerprint), the checkpoint's \(parentFingerprint)); give the state of the checkpoint's own run"
            )
        }
        if let history = parent.metadata?.trainingHistory, !history.isEmpty,
            header.run.history.count < history.count || Array(header.run.history.prefix(history.count)) != history
        {
            throw TrainingError.resume(
                path: path,
                reason:
                    "it is the state of another run of the same shape: its epochs are not the \(history.count) the checkpoint records; give the state of the checkpoint's own run (MODEL.state beside it)"
            )
        }
        return (header.adamSteps, first, second)
    }

    /// Reads a state file: its header, parameters and Adam moments (checked against the parameters' shapes).
    static func read(from path: String) throws -> (Header, SRGNNParameters, SRGNNParameters, SRGNNParameters) {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(contentsOf: path)
        } catch ModelError.weightsFile(_, let reason) {
            throw TrainingError.resume(path: path, reason: reason)
        }
        guard let json = file.metadata["srgnn.training-state"],
            let header = try? JSONDecoder().decode(Header.self, from: Data(json.utf8))
        else {
            throw TrainingError.resume(path: path, reason: "not a training state file")
        }
        guard header.adamSteps >= 0 else {
            throw TrainingError.resume(path: path, reason: "its optimizer step count is negative (\(header.adamSteps))")
        }
        let parameters: SRGNNParameters
        do {
            (parameters, _) = try SRGNNParameters.load(from: file, path: path)
        } catch ModelError.weightsFile(_, let reason) {
            throw TrainingError.resume(path: path, reason: reason)
        }
        var first = SRGNNParameters(zerosLike: parameters), second = SRGNNParameters(zerosLike: parameters)
        for name in parameters.tensorNames {
            guard let m = file.floats("adam.m." + name.rawValue), let v = file.floats("adam.v." + name.rawValue),
                m.count == first.range(of: name).count, v.count == m.count
            else {
                throw TrainingError.resume(path: path, reason: "optimizer state for \(name.rawValue) is missing or misshapen")
            }
            first.setTensor(name, m)
            second.setTensor(name, v)
        }
        return (header, parameters, first, second)
    }
}
