import ArgumentParser
import CKernels
import Evaluation
import Foundation
import SessionData

/// The `srgnn` command: one subcommand per job, each in its own file.
@main
struct SRGNNCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srgnn",
        abstract: "Session-based recommendation with graph neural networks (SR-GNN, Wu et al., AAAI 2019).",
        subcommands: [
            DemoCommand.self,
            RecommendCommand.self,
            BenchCommand.self,
            TrainCommand.self,
            EvaluateCommand.self,
            CompareCommand.self,
            PreprocessCommand.self,
            StatsCommand.self,
            ServeCommand.self,
        ]
    )

    static func main() async {
        // Line-buffered stdout, so progress lines reach a log file or pipe as they are printed.
        srgnn_line_buffer_stdout()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
