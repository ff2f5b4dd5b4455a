import ArgumentParser
import SessionData

/// `srgnn slice`: cuts a dataset folder whose sessions are in date order into consecutive windows
/// by position (a proxy for time), each a dataset folder `OUT/slice-k` (docs/DATASET.md, "Time slices").
struct SliceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slice",
        abstract: "Cut a dataset folder into N consecutive windows by position, each a dataset folder with its own training and test part.",
        discussion: """
            The training sessions and then the test sessions (recovered from the test examples) are cut into N \
            windows of equal size; the last part of each window (--test-fraction, by default the source's test share) \
            is its test part, whose items unseen in the window's training part are removed. Positions stand in for \
            time: the source's sessions must be in date order (SR-GNN pickles and this tool's folders are). \
            Item ids are the source's. For windows by real time from a raw log, use `srgnn preprocess --slices`.
            Example: srgnn slice ../shared/data/diginetica --slices 5 --out data/diginetica-slices
            """
    )

    @Argument(help: "A dataset folder: this tool's (dataset.json) or an SR-GNN folder (all_train_seq.txt, test.txt).")
    var dataset: String

    @Option(parsing: .unconditional, help: "Number of windows (at least 1).")
    var slices: Int

    @Option(
        parsing: .unconditional,
        help: "Share of each window's sessions (its last ones) that are its test part, in (0, 1); default: the source's test share.")
    var testFraction: Double?

    @Option(help: "The folder to write slice-1 … slice-N into (created when missing).")
    var out: String

    func validate() throws {
        if slices < 1 { throw ValidationError("--slices must be at least 1, got \(slices)") }
        if let testFraction, !(testFraction > 0 && testFraction < 1) {
            throw ValidationError("--test-fraction must be between 0 and 1 (exclusive), got \(testFraction)")
        }
    }

    func run() throws {
        do {
            let source = try SessionDataset.load(from: dataset)
            let share = DatasetSlicer.testShare(of: source)
            let cut = try DatasetSlicer.slices(of: source, count: slices, testFraction: testFraction)
            let fraction = testFraction ?? share
            try DatasetFolder.writeSlices(
                cut.map { slice in
                    let origin = [
                        "input": dataset, "format": "slice by position",
                        // Positions in the source's training sessions followed by its test sessions.
                        "window": "\(slice.window.lowerBound)..<\(slice.window.upperBound)",
                        "test_fraction": "\(fraction)",
                    ]
                    return (slice.dataset, origin)
                }, to: out)
            print("Source: \(source.trainSessions.count) training sessions, test share \(share.formatted(digits: 4))")
            print("slice  sessions (window)        train sessions  train examples  test sessions (kept of cut)  test examples")
            for slice in cut {
                let window = "\(slice.window.lowerBound)..<\(slice.window.upperBound)"
                print(
                    "\(pad(slice.number, 5))  \(pad(window, 22))  \(pad(slice.trainSessions, 14))  \(pad(slice.dataset.train.count, 14))  \(pad("\(slice.testSessionsKept) of \(slice.testSessionsCut)", 27))  \(pad(slice.dataset.test.count, 13))"
                )
            }
            print("Wrote \(out)/slice-1 … slice-\(slices)")
        } catch let error as SessionDataError {
            throw CommandError(error.description)
        }
    }

    private func pad(_ value: Any, _ width: Int) -> String {
        let text = "\(value)"
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

extension Double {
    /// The value rounded to `digits` decimals, as text.
    fileprivate func formatted(digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return "\((self * scale).rounded() / scale)"
    }
}
