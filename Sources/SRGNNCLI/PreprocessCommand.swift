import ArgumentParser
import Evaluation
import SessionData

/// `srgnn preprocess`: raw click log → dataset folder, exactly as the reference's preprocess.py.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Preprocess a raw click log into a dataset folder, like the official SR-GNN preprocess.py.",
        discussion: """
            Formats: diginetica (train-item-views.csv), yoochoose (yoochoose-clicks.dat, header optional), \
            csv (any delimited log: choose columns, delimiter, header and time format), recbole (an atomic .inter file), \
            srgnn (a folder already preprocessed by the official script: converted as is, no filtering).
            Ends with a summary counting every click, session and item kept and dropped, and why.
            Limits (docs/DATASET.md): lines of at most 1 MiB; times in the years 1 to 9999; sessions \
            are kept whole, the training and the test examples each at most 268,435,456 item ids. Everything is \
            read and checked before anything is written.
            Example: srgnn preprocess --format yoochoose yoochoose-clicks.dat --out data/yoochoose1_64 --fraction 64
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case diginetica, yoochoose, csv, recbole, srgnn }

    @Option(help: "Input format: \(Format.allCases.map(\.rawValue).joined(separator: "|")).")
    var format: Format

    @Argument(help: "The click log to read.")
    var input: String

    @Option(help: "The dataset folder to write (created when missing).")
    var out: String

    @Option(parsing: .unconditional, help: "Drop sessions shorter than this (reference: 2).")
    var minSessionLength = PreprocessOptions().minimumSessionLength

    @Option(parsing: .unconditional, help: "Drop items clicked fewer times than this (reference: 5).")
    var minItemSupport = PreprocessOptions().minimumItemSupport

    @Option(
        parsing: .unconditional,
        help: "Test period in days before the latest session (reference: 7 for Diginetica, 1 for Yoochoose; default by format).")
    var testDays: Double?

    @Option(parsing: .unconditional, help: "Keep the most recent 1/N of training examples (Yoochoose 1/4 and 1/64: 4 and 64; 1 keeps all).")
    var fraction = PreprocessOptions().fraction

    @Flag(help: "Count item support on the training period only (the reference counts the test period too).")
    var supportFromTrainingOnly = PreprocessOptions().supportFromTrainingOnly

    @Flag(help: "Also write the SR-GNN pickles (all_train_seq.txt, train.txt, test.txt) into the folder.")
    var pickles = false

    @Option(
        parsing: .unconditional,
        help: "Write N consecutive time windows OUT/slice-1 … slice-N instead of one split, each with its own training and test period (docs/DATASET.md, \"Time slices\").")
    var slices: Int?

    @Option(
        parsing: .unconditional,
        help: "With --slices: each window's length in days, its last --test-days being its test period (default: the log's span / N).")
    var sliceDays: Double?

    // Generic CSV.
    @Option(help: "csv: field delimiter, one character ('\\t' for tab).")
    var delimiter = ","

    @Option(help: "csv: whether the first line is a header: present|absent|auto.")
    var header: String = "present"

    @Option(help: "csv: session column, a header name or a 0-based index.")
    var sessionColumn: String?

    @Option(help: "csv: item column, a header name or a 0-based index.")
    var itemColumn: String?

    @Option(help: "csv: time column, a header name or a 0-based index.")
    var timeColumn: String?

    @Option(help: "csv: time format: iso8601|unix|date.")
    var timeFormat: String = "iso8601"

    // RecBole.
    @Option(help: "recbole: the field that keys sessions (e.g. user_id for ml-100k).")
    var sessionField = "session_id"

    @Option(help: "recbole: the item field.")
    var itemField = "item_id"

    @Option(help: "recbole: the timestamp field that orders clicks.")
    var timeField = "timestamp"

    func validate() throws {
        if format == .csv {
            guard sessionColumn != nil, itemColumn != nil, timeColumn != nil else {
                throw ValidationError("--format csv needs --session-column, --item-column and --time-column")
            }
            guard delimiterByte != nil else {
                throw ValidationError("--delimiter must be one ASCII character or '\\t', got '\(delimiter)'")
            }
            guard HeaderMode(rawValue: header) != nil else {
                throw ValidationError("--header must be present, absent or auto, got '\(header)'")
            }
            guard TimeFormat(rawValue: timeFormat) != nil else {
                throw ValidationError("--time-format must be iso8601, unix or date, got '\(timeFormat)'")
            }
        }
        do { try options.validate() } catch let error as SessionDataError { throw ValidationError(error.message) }
        if let slices {
            if format == .srgnn { throw ValidationError("--slices needs a click log; cut a preprocessed folder with `srgnn slice`") }
            do {
                try Preprocessor.validate(options, TimeSliceOptions(count: slices, sliceDays: sliceDays))
            } catch let error as SessionDataError { throw ValidationError(error.message) }
        } else if sliceDays != nil {
            throw ValidationError("--slice-days needs --slices")
        }
    }

    var delimiterByte: UInt8? {
        if delimiter == "\\t" || delimiter == "tab" { return 0x09 }
        guard delimiter.utf8.count == 1, let byte = delimiter.utf8.first, byte < 0x80 else { return nil }
        return byte
    }

    var options: PreprocessOptions {
        PreprocessOptions(
            minimumSessionLength: minSessionLength, minimumItemSupport: minItemSupport,
            testDays: testDays ?? (format == .yoochoose ? 1 : PreprocessOptions().testDays), fraction: fraction,
            supportFromTrainingOnly: supportFromTrainingOnly)
    }

    var clickLogFormat: ClickLogFormat {
        switch format {
        case .diginetica: return .diginetica
        case .yoochoose: return .yoochoose
        case .recbole: return .recbole(sessionField: sessionField, itemField: itemField, timeField: timeField)
        case .srgnn: preconditionFailure("an SR-GNN folder is converted, not parsed as a click log")
        case .csv:
            return ClickLogFormat(
                delimiter: delimiterByte!, header: HeaderMode(rawValue: header)!,
                session: ColumnReference(parsing: sessionColumn!), item: ColumnReference(parsing: itemColumn!),
                time: ColumnReference(parsing: timeColumn!), timeFormat: TimeFormat(rawValue: timeFormat)!,
                order: nil, sortWithinSession: true, sessionDate: .latest)
        }
    }

    func run() throws {
        let options = self.options
        do {
            if format == .srgnn {
                // Already preprocessed: convert to our folder unchanged (ids are kept as raw ids).
                let dataset = try SessionDataset.load(from: input)
                try DatasetFolder.write(dataset, to: out, source: ["input": input, "format": format.rawValue])
                if pickles { try DatasetFolder.writeSRGNNPickles(dataset, to: out) }
                let statistics = DatasetStatistics(dataset)
                print(
                    "Converted \(input): \(statistics.trainSessions) training sessions, \(statistics.trainExamples) training examples, \(statistics.testExamples) test examples, \(statistics.items) items; nothing dropped"
                )
                print("Wrote \(out)")
                return
            }
            if let slices {
                try runSlices(TimeSliceOptions(count: slices, sliceDays: sliceDays), options: options)
                return
            }
            let result = try Preprocessor.run(path: input, format: clickLogFormat, options: options)
            try DatasetFolder.write(
                result.dataset, to: out, source: ["input": input, "format": format.rawValue],
                options: options, summary: result.summary)
            if pickles { try DatasetFolder.writeSRGNNPickles(result.dataset, to: out) }
            print(result.summary.render(options: options))
            print("Wrote \(out)")
        } catch let error as SessionDataError {
            throw CommandError(error.description)
        }
    }

    /// `--slices`: one dataset folder per time window, and a line per window.
    func runSlices(_ slicing: TimeSliceOptions, options: PreprocessOptions) throws {
        let slices = try Preprocessor.runSlices(path: input, format: clickLogFormat, options: options, slicing: slicing)
        try DatasetFolder.writeSlices(
            slices.map { slice in
                let origin = [
                    "input": input, "format": format.rawValue, "window_start": formatDate(slice.start),
                    "test_start": formatDate(slice.testStart), "window_end": formatDate(slice.end),
                ]
                return (slice.dataset, origin)
            }, to: out)
        if pickles {
            for (k, slice) in slices.enumerated() {
                try DatasetFolder.writeSRGNNPickles(slice.dataset, to: out + "/" + DatasetFolder.sliceName(k + 1))
            }
        }
        let first = slices[0].summary
        print("Read:     \(first.clicksRead) clicks, \(first.sessionsRead) sessions, \(first.itemsRead) items")
        print(
            "Filtered: \(first.shortSessions + first.sessionsShortAfterItemFilter) sessions shorter than \(options.minimumSessionLength), \(first.rareItemClicks) clicks of items seen fewer than \(options.minimumItemSupport) times"
        )
        for (k, slice) in slices.enumerated() {
            let summary = slice.summary
            print(
                "slice-\(k + 1): train \(formatDate(slice.start)) to \(formatDate(slice.testStart)): \(summary.trainSessions) sessions, \(summary.trainExamples) examples, \(summary.items) items; test to \(formatDate(slice.end)): \(summary.testSessions) sessions, \(summary.testExamples) examples (\(summary.unknownTestItemClicks) clicks of unknown items and \(summary.shortTestSessions) short sessions dropped)"
            )
        }
        print("Wrote \(out)/slice-1 … slice-\(slices.count)")
    }
}
