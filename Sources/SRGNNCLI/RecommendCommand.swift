import ArgumentParser
import Evaluation
import Foundation
import Recommending
import SessionData
import SRGNN
import TensorCore

/// `srgnn recommend`: the top-k next items for one session (`--items`), or for every session of a
/// JSON-lines file (`--input`), through the one `Recommender` path that `srgnn serve` answers with.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Recommend the next items for one session, or for every session of a JSON-lines file.",
        discussion: """
            MODEL is a checkpoint from srgnn train (items are your raw ids, as in your click log) or a \
            bare weights file in safetensors with the official SR-GNN names, for example one exported \
            from the official PyTorch code (items are then row numbers 1...n-1, and --step and \
            --nonhybrid say how it was trained). Scores are the model's logits s_h · e_item (NISER+: σ · cosine); the answer \
            is the one srgnn serve gives, bit for bit.

            --items: one session; unknown items are dropped with a note on stderr.

            --input FILE: one session a line, {"session_id": "s1", "items": [214826, "a17"]} (ids as \
            strings or integers, as the service takes them; blank lines are ignored). Each line gives, \
            in input order, {"items": [{"id": …, "score": …}, …], "session_id": …, "unknown_items": \
            [...]} (keys sorted, ids echoed as sent); the "items" are exactly what --items --json \
            prints for that session. A session none of whose items the model knows (the service \
            answers 422) gets "items": [] with its "unknown_items", and is counted in the summary. \
            A session longer than --max-session-length keeps its most recent clicks, as with --items. \
            A bad line (not JSON, no "session_id" or "items", an id that is not a string or an \
            integer, a line over 1 MiB) stops the run with its file and line number, or with \
            --skip-invalid is reported and skipped. An empty "items" is answered by --fallback like \
            any session the model cannot embed; it is a bad line only when nothing can answer it \
            (--fallback none, or a model without a popularity list: a bare weights file or an older \
            checkpoint). The file is streamed a few thousand lines at \
            a time, scored on --threads cores; progress and a summary go to stderr. --output is \
            written under a temporary name and renamed when complete, so a failed run leaves no file.

            Item rules: --exclude, --filter (needs --catalog), --include-unavailable and --candidates \
            apply to --items and to every --input line. A line may carry its own, as the service takes \
            them: "exclude": [ids] (added to --exclude), "filter": {"attribute": [values]} (an \
            attribute given replaces --filter's values for it), "include_unavailable": true|false and \
            "candidates": [ids] (replace the flags). A session the model cannot embed (empty, or only \
            unknown items) is answered by --fallback: popularity (the default) gives the checkpoint's \
            recent most clicked items, rules applied, and "fallback": "popularity" in the JSON.
            """
    )

    @Option(name: .long, help: "Checkpoint, a bare weights file (safetensors, official SR-GNN tensor names), or a baseline from srgnn fit.")
    var model: String

    @Option(
        name: .long,
        help: "The session's clicks, oldest first, comma-separated (e.g. 3,17,5); '' for a session without clicks (answered by --fallback)."
    )
    var items: String?

    @Option(name: .long, help: "A JSON-lines file of sessions, {\"session_id\": …, \"items\": [...]} a line.")
    var input: String?

    @Option(name: .long, help: "With --input: the file to write, one JSON line per session (default: standard output).")
    var output: String?

    @Option(name: .long, parsing: .unconditional, help: "How many items to return (1...\(CommandLimits.maximumK)).")
    var k = Recommender.defaultK

    @Flag(name: .long, help: "Leave out the items of the session itself.")
    var excludeSeen = false

    @Flag(name: .long, help: "With --input: report bad lines on stderr and skip them instead of stopping.")
    var skipInvalid = false

    @Option(
        name: .long, parsing: .unconditional,
        help: "With --input: worker threads (1...\(CommandLimits.maximumThreads); default: all cores).")
    var threads: Int?

    /// Lines read and scored at a time; tests set it small to cross chunk boundaries.
    @Option(name: .long, parsing: .unconditional, help: .hidden)
    var chunkLines = BatchRecommendation.defaultChunkLines

    @OptionGroup var session: SessionLengthOption

    @OptionGroup var architecture: ArchitectureOptions

    @OptionGroup var catalog: CatalogOptions

    @OptionGroup var rules: ItemRuleOptions

    @OptionGroup var retrieval: RetrievalOptions

    @Flag(name: .long, help: "Print JSON: {\"items\":[{\"id\":…,\"score\":…},…]} (--input always writes JSON lines).")
    var json = false

    func validate() throws {
        guard (1...CommandLimits.maximumK).contains(k) else {
            throw ValidationError("--k must be in 1...\(CommandLimits.maximumK), got \(k)")
        }
        if !rules.filter.isEmpty && catalog.catalog == nil {
            throw ValidationError("--filter needs --catalog: the catalog file gives items the attributes to filter on")
        }
        switch (items, input) {
        case (nil, nil):
            throw ValidationError("give --items (one session, e.g. --items 3,17,5) or --input (a JSON-lines file of sessions)")
        case (.some, .some):
            throw ValidationError("--items and --input cannot be used together: --items is one session, --input a file of them")
        case (.some, nil):
            for (option, given) in [("--output", output != nil), ("--skip-invalid", skipInvalid), ("--threads", threads != nil)] where given
            {
                throw ValidationError("\(option) applies to --input, not to --items")
            }
            _ = try parseItems()
        case (nil, .some):
            if let threads, !(1...CommandLimits.maximumThreads).contains(threads) {
                throw ValidationError("--threads must be in 1...\(CommandLimits.maximumThreads), got \(threads)")
            }
            guard (1...BatchRecommendation.maximumChunkLines).contains(chunkLines) else {
                throw ValidationError("--chunk-lines must be in 1...\(BatchRecommendation.maximumChunkLines), got \(chunkLines)")
            }
        }
    }

    /// The `--items` session; empty for `--items ''` (a session without clicks, as `"items": []`).
    func parseItems() throws -> [String] {
        let fields = (items ?? "").split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if fields.count == 1 && fields[0].isEmpty { return [] }
        if let index = fields.firstIndex(of: "") {
            throw ValidationError("--items: the item at position \(index + 1) is empty")
        }
        return fields
    }

    func run() throws {
        // Each session's products are single-threaded (parallelism is across sessions); it also
        // keeps OpenBLAS from splitting a product differently from `srgnn serve`.
        setBLASThreads(1)
        if let input {
            try recommendForFile(input)
        } else {
            try recommendForItems(try parseItems())
        }
    }

    func loadRecommender() throws -> Recommender {
        let rules = try catalog.catalog.map { try Catalog.load(from: $0) }
        let recommender: Recommender
        if let baseline = try FittedBaseline.load(from: model) {
            recommender = Recommender(
                baseline: baseline, maxSessionLength: session.maxSessionLength, catalog: rules, fallback: catalog.fallback)
        } else {
            let loaded = try LoadedModel.load(
                from: model, propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid)
            reportLoaded(loaded, path: model)
            recommender = Recommender(
                model: loaded, maxSessionLength: session.maxSessionLength, catalog: rules, fallback: catalog.fallback,
                retrieval: retrieval.value)
        }
        if let path = catalog.catalog, let index = recommender.catalog, index.rowsNotInModel > 0 {
            printNote("\(path): \(index.rowsNotInModel) catalog rows name items the model does not know (ignored)")
        }
        return recommender
    }

    func recommendForItems(_ rawItems: [String]) throws {
        let recommender = try loadRecommender()
        let sent = rawItems.map(JSONItemID.init)
        let result: RecommendationResult
        do {
            result = try recommender.recommend([try rules.rules.query(session: sent, k: k, excludeSeen: excludeSeen)])[0]
        } catch let error as RecommenderError {
            throw CommandError("\(error)")
        }
        if !result.unknownItems.isEmpty {
            printNote(
                "unknown items dropped: \(quotedPrefix(result.unknownItems.joined(separator: ", "))) (the model knows \(recommender.itemCount) items)"
            )
        }
        if result.fallback == .popularity {
            printNote("no known item in the session: answered with the checkpoint's recent most clicked items (--fallback popularity)")
        }
        if json {
            print(try JSONText.string(RecommendationResponse(items: result.items, unknownItems: nil, fallback: result.fallback)))
        } else {
            for (rank, entry) in result.items.enumerated() {
                print("\(rank + 1)\t\(entry.id)\t\(entry.score)")
            }
        }
    }

    func recommendForFile(_ input: String) throws {
        // Fail on a missing input or an unwritable output before the model is loaded.
        guard FileManager.default.isReadableFile(atPath: input) else {
            throw CommandError("\(input): cannot open for reading (no such file, or not readable)")
        }
        if let output {
            // The output replaces its file when complete: one of the inputs would be lost.
            let inputs = [("--input", input), ("--model", model)] + (catalog.catalog.map { [("--catalog", $0)] } ?? [])
            if let (option, path) = inputs.first(where: { FileIO.isSameFile($0.1, output) }) {
                throw CommandError(
                    "--output \(output) is the file of \(option) \(path): writing it would replace what is being read; give another path")
            }
            try FileIO.checkWritable(output)
            // Temporaries of a run killed without a chance to clean up (SIGKILL, power loss).
            FileIO.removeStaleTemporaries(of: output)
        }
        let batch = BatchRecommendation(
            recommender: try loadRecommender(), k: k, excludeSeen: excludeSeen, rules: try rules.rules,
            skipInvalid: skipInvalid,
            threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, chunkLines: chunkLines)
        let progress = BatchProgress()
        let summary: BatchRecommendation.Summary
        if let output {
            // The handler is in place before the temporary file exists: no signal can fall between.
            let cleanup = RemoveOnSignal()
            defer { cleanup.cancel() }
            let file = try AtomicFileWriter(path: output, beforeCreating: cleanup.arm)
            summary = try batch.run(input: input, write: { try file.write($0) }, progress: progress)
            try file.commit()
        } else {
            summary = try batch.run(
                input: input,
                write: { bytes in
                    try FileHandle.standardOutput.write(contentsOf: Data(bytes))
                }, progress: progress)
        }
        progress.finish(summary)
    }
}

/// While alive, SIGINT, SIGTERM and SIGHUP remove a temporary file and end the process with the
/// conventional status (128 + the signal): an interrupted `--output` leaves nothing behind.
/// A plain signal handler, not a Dispatch source: worker threads started earlier do not block the
/// signals, so a source would never hear them. The handler does only what is safe in one
/// (`unlink`, `_exit`), on a path prepared beforehand by `arm`; `cancel()` restores the default
/// action.
final class RemoveOnSignal {
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    init() {
        for number in Self.signals { signal(number, removeTemporaryAndExit) }
    }

    /// The file to remove on a signal (set before it is created).
    func arm(_ temporaryPath: String) {
        let previous = signalTemporaryPath
        signalTemporaryPath = strdup(temporaryPath)
        free(previous)
    }

    func cancel() {
        for number in Self.signals { signal(number, SIG_DFL) }
        let path = signalTemporaryPath
        signalTemporaryPath = nil
        free(path)
    }
}

/// The temporary file `RemoveOnSignal` removes (one batch run per process).
nonisolated(unsafe) private var signalTemporaryPath: UnsafeMutablePointer<CChar>?

private func removeTemporaryAndExit(_ number: Int32) {
    if let path = signalTemporaryPath { unlink(path) }
    _exit(128 + number)
}

/// A note on stderr.
func printNote(_ message: String) {
    FileHandle.standardError.write(Data("note: \(message)\n".utf8))
}

/// The longest session scored; shared by `recommend` and `serve` so that both give one answer.
struct SessionLengthOption: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: "Longest session scored (1...\(CommandLimits.maximumSessionLength)); longer ones keep their most recent clicks.")
    var maxSessionLength = Recommender.defaultMaxSessionLength

    func validate() throws {
        guard (1...CommandLimits.maximumSessionLength).contains(maxSessionLength) else {
            throw ValidationError("--max-session-length must be in 1...\(CommandLimits.maximumSessionLength), got \(maxSessionLength)")
        }
    }
}

/// Options that a bare weights file cannot carry: how the model was built.
struct ArchitectureOptions: ParsableArguments {
    @Option(
        name: [.customLong("propagation-steps"), .customLong("step")], parsing: .unconditional,
        help: "Gated graph propagation steps the model was trained with (1...\(SRGNNConfiguration.maximumPropagationSteps)).")
    var propagationSteps = SRGNNConfiguration(itemCount: 1).propagationSteps

    @Flag(name: .long, help: "The model was trained without the hybrid readout (s_h = s_g).")
    var nonhybrid = false

    func validate() throws {
        guard (1...SRGNNConfiguration.maximumPropagationSteps).contains(propagationSteps) else {
            throw ValidationError(
                "--propagation-steps must be in 1...\(SRGNNConfiguration.maximumPropagationSteps), got \(propagationSteps)")
        }
    }
}

/// Tells on stderr what the user should know about a model file that loaded: its load notes and
/// its ignored tensors.
func reportLoaded(_ loaded: LoadedModel, path: String) {
    for note in loaded.notes { FileHandle.standardError.write(Data("note: \(path): \(note)\n".utf8)) }
    reportIgnored(loaded.reportableIgnoredTensors, path: path)
}

/// Lists on stderr the tensors of a weights file that the model does not use (the reference's
/// unused `gnn.linear_edge_f.*` included, so nothing is dropped silently).
func reportIgnored(_ names: [String], path: String) {
    guard !names.isEmpty else { return }
    let shown = names.count > 12 ? names.prefix(12).joined(separator: ", ") + ", … (\(names.count) in all)" : names.joined(separator: ", ")
    FileHandle.standardError.write(Data("note: \(path): ignored tensors not used by the model: \(shown)\n".utf8))
}
