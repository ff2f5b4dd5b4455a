import ArgumentParser
import Evaluation
import Foundation
import Serving
import SessionData
import SRGNN
import TensorCore

/// `srgnn recommend`: the top-k next items for one session.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Recommend the next items for one session.",
        discussion: """
        MODEL is a checkpoint from srgnn train (items are your raw ids, as in your click log) or a \
        bare weights file in safetensors with the official SR-GNN names, for example one exported \
        from the official PyTorch code (items are then row numbers 1...n-1, and --step and \
        --nonhybrid say how it was trained). Unknown items are dropped with a note on stderr. \
        Scores are the model's logits s_h · e_item; the answer is the one srgnn serve gives.
        """
    )

    @Option(name: .long, help: "Checkpoint, or a bare weights file (safetensors, official SR-GNN tensor names).")
    var model: String

    @Option(name: .long, help: "The session's clicks, oldest first, comma-separated (e.g. 3,17,5).")
    var items: String

    @Option(name: .long, parsing: .unconditional, help: "How many items to return (1...\(CommandLimits.maximumK)).")
    var k = Recommender.defaultK

    @OptionGroup var session: SessionLengthOption

    @OptionGroup var architecture: ArchitectureOptions

    @Flag(name: .long, help: "Print JSON: {\"items\":[{\"id\":…,\"score\":…},…]}.")
    var json = false

    func validate() throws {
        guard (1...CommandLimits.maximumK).contains(k) else {
            throw ValidationError("--k must be in 1...\(CommandLimits.maximumK), got \(k)")
        }
        _ = try parseItems()
    }

    func parseItems() throws -> [String] {
        let fields = items.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !(fields.count == 1 && fields[0].isEmpty) else {
            throw ValidationError("--items is empty: give the session's item ids, e.g. --items 3,17,5")
        }
        if let index = fields.firstIndex(of: "") {
            throw ValidationError("--items: the item at position \(index + 1) is empty")
        }
        return fields
    }

    func run() throws {
        let rawItems = try parseItems()
        // One session is one small product; single-threaded BLAS also gives the same last bits as
        // `srgnn serve` (OpenBLAS splits a threaded product differently).
        setBLASThreads(1)
        let recommender = try Recommender(contentsOf: model, propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid,
                                          maxSessionLength: session.maxSessionLength)
        reportIgnored(recommender.loaded.reportableIgnoredTensors, path: model)
        let result: RecommendationResult
        do {
            result = try recommender.recommend(session: rawItems, k: k)
        } catch let error as RecommenderError {
            throw CommandError("\(error)")
        }
        if !result.unknownItems.isEmpty {
            FileHandle.standardError.write(Data("note: unknown items dropped: \(quotedPrefix(result.unknownItems.joined(separator: ", "))) (the model knows \(recommender.itemCount) items)\n".utf8))
        }
        if json {
            print(try JSONText.string(RecommendationResponse(items: result.items, unknownItems: nil)))
        } else {
            for (rank, entry) in result.items.enumerated() {
                print("\(rank + 1)\t\(entry.id)\t\(entry.score)")
            }
        }
    }
}

/// The longest session scored; shared by `recommend` and `serve` so that both give one answer.
struct SessionLengthOption: ParsableArguments {
    @Option(name: .long, parsing: .unconditional,
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
    @Option(name: [.customLong("propagation-steps"), .customLong("step")], parsing: .unconditional,
            help: "Gated graph propagation steps the model was trained with (1...\(SRGNNConfiguration.maximumPropagationSteps)).")
    var propagationSteps = SRGNNConfiguration(itemCount: 1).propagationSteps

    @Flag(name: .long, help: "The model was trained without the hybrid readout (s_h = s_g).")
    var nonhybrid = false

    func validate() throws {
        guard (1...SRGNNConfiguration.maximumPropagationSteps).contains(propagationSteps) else {
            throw ValidationError("--propagation-steps must be in 1...\(SRGNNConfiguration.maximumPropagationSteps), got \(propagationSteps)")
        }
    }
}

/// Lists on stderr the tensors of a weights file that the model does not use (the reference's
/// unused `gnn.linear_edge_f.*` included, so nothing is dropped silently).
func reportIgnored(_ names: [String], path: String) {
    guard !names.isEmpty else { return }
    let shown = names.count > 12 ? names.prefix(12).joined(separator: ", ") + ", … (\(names.count) in all)" : names.joined(separator: ", ")
    FileHandle.standardError.write(Data("note: \(path): ignored tensors not used by the model: \(shown)\n".utf8))
}
