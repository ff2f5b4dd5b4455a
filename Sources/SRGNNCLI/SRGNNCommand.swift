import ArgumentParser
import Foundation

/// The `srgnn` command: one subcommand per job, each in its own file. Commands that report progress
/// flush each line themselves (`printLine`), so the plain `@main` entry point is enough.
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
            TuneCommand.self,
            FitCommand.self,
            EvaluateCommand.self,
            CompareCommand.self,
            PreprocessCommand.self,
            SliceCommand.self,
            StatsCommand.self,
            SynthCommand.self,
            ServeCommand.self,
            ABReportCommand.self,
        ]
    )
}
