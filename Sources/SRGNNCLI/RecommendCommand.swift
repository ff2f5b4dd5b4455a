import ArgumentParser
import Evaluation
import Foundation
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
        Scores are the model's logits s_h · e_item.
        """
    )

    @Option(name: .long, help: "Checkpoint, or a bare weights file (safetensors, official SR-GNN tensor names).")
    var model: String

    @Option(name: .long, help: "The session's clicks, oldest first, comma-separated (e.g. 3,17,5).")
    var items: String

    @Option(name: .long, help: "How many items to return.")
    var k: Int = 20

    @OptionGroup var architecture: ArchitectureOptions

    @Flag(name: .long, help: "Print JSON: {\"items\":[{\"id\":…,\"score\":…},…]}.")
    var json = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be at least 1, got \(k)") }
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
        let loaded = try LoadedModel.load(from: model, propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid)
        reportIgnored(loaded.reportableIgnoredTensors, path: model)
        let (session, unknown) = loaded.internalIDs(of: rawItems)
        if !unknown.isEmpty {
            FileHandle.standardError.write(Data("note: unknown items dropped: \(unknown.joined(separator: ", ")) (the model knows \(loaded.vocabulary.count) items)\n".utf8))
        }
        guard !session.isEmpty else {
            throw CommandError("none of the session's items is known to the model (\(unknown.joined(separator: ", "))); nothing to recommend from")
        }
        let recommendations = try loaded.model.recommend(session: session, k: k)
        if json {
            let items = recommendations.map { "{\"id\":\(jsonItemID(loaded.vocabulary.rawID(of: $0.item))),\"score\":\(jsonNumber($0.score))}" }
            print("{\"items\":[\(items.joined(separator: ","))]}")
        } else {
            for (rank, entry) in recommendations.enumerated() {
                print("\(rank + 1)\t\(loaded.vocabulary.rawID(of: entry.item))\t\(entry.score)")
            }
        }
    }
}

/// Options that a bare weights file cannot carry: how the model was built.
struct ArchitectureOptions: ParsableArguments {
    @Option(name: [.customLong("propagation-steps"), .customLong("step")], help: "Gated graph propagation steps the model was trained with.")
    var propagationSteps: Int = 1

    @Flag(name: .long, help: "The model was trained without the hybrid readout (s_h = s_g).")
    var nonhybrid = false

    func validate() throws {
        guard propagationSteps >= 1 else { throw ValidationError("--propagation-steps must be at least 1, got \(propagationSteps)") }
    }
}

/// Lists on stderr the tensors of a weights file that the model does not use (the reference's
/// unused `gnn.linear_edge_f.*` included, so nothing is dropped silently).
func reportIgnored(_ names: [String], path: String) {
    guard !names.isEmpty else { return }
    let shown = names.count > 12 ? names.prefix(12).joined(separator: ", ") + ", … (\(names.count) in all)" : names.joined(separator: ", ")
    FileHandle.standardError.write(Data("note: \(path): ignored tensors not used by the model: \(shown)\n".utf8))
}
