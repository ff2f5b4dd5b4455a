import ArgumentParser

/// The `srgnn` command: one subcommand per job, each in its own file.
@main
struct SRGNNCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srgnn",
        abstract: "Session-based recommendation with graph neural networks (SR-GNN, Wu et al., AAAI 2019).",
        subcommands: [
            RecommendCommand.self,
            BenchCommand.self,
            PreprocessCommand.self,
            StatsCommand.self,
        ]
    )
}
