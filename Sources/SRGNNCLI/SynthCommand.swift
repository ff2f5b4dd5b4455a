import ArgumentParser
import Foundation
import SessionData

/// `srgnn synth`: a large synthetic click log, streamed to CSV, for measuring at scale.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic click log (session,item,timestamp CSV) of any size.",
        discussion: """
            The demo's generator: Zipf item popularity (exponent --popularity-exponent), a few fixed \
            successors per item that sessions mostly walk to, geometric session lengths (mean \
            --mean-length, 2 to 200 clicks), sessions spread evenly over --days days, clicks a \
            minute apart. Seeded: the same options write the same file. Memory is the catalogue's \
            tables, not the log. Read it with: srgnn preprocess FILE --format csv \
            --session-column session --item-column item --time-column timestamp --time-format unix --out DIR
            """
    )

    @Option(name: .long, parsing: .unconditional, help: "Catalogue size (2...2147483646).")
    var items: Int

    @Option(name: .long, parsing: .unconditional, help: "Sessions to write (1...10000000000).")
    var sessions: Int

    @Option(name: .long, help: "The CSV file to write (through a temporary file, renamed when complete).")
    var out: String

    @Option(name: .long, parsing: .unconditional, help: "Seed of the log.")
    var seed: UInt64 = 42

    @Option(
        name: .long, parsing: .unconditional,
        help: "Zipf exponent of item popularity, 0...4 (1: the demo's law; lower spreads clicks over more items).")
    var popularityExponent = 1.0

    @Option(name: .long, parsing: .unconditional, help: "Mean session length in clicks, 2...100 (Diginetica: 4.85).")
    var meanLength = 4.85

    @Option(name: .long, parsing: .unconditional, help: "Days the sessions span, 1...36500.")
    var days = 60

    @Option(name: .long, help: "Text before each item id (e.g. sku-), so ids read as strings.")
    var itemPrefix = ""

    func validate() throws {
        guard (2...InputLimits.maximumItemCount).contains(items) else {
            throw ValidationError("--items must be in 2...\(InputLimits.maximumItemCount), got \(items)")
        }
        guard (1...10_000_000_000).contains(sessions) else {
            throw ValidationError("--sessions must be in 1...10000000000, got \(sessions)")
        }
        guard (0...4).contains(popularityExponent) else {
            throw ValidationError("--popularity-exponent must be in 0...4, got \(popularityExponent)")
        }
        guard (2...100).contains(meanLength) else { throw ValidationError("--mean-length must be in 2...100, got \(meanLength)") }
        guard (1...36_500).contains(days) else { throw ValidationError("--days must be in 1...36500, got \(days)") }
        guard !itemPrefix.utf8.contains(where: { $0 == 0x2C || $0 == 0x0A || $0 == 0x0D || $0 == 0x22 }) else {
            throw ValidationError("--item-prefix must not contain a comma, a quote or a line break")
        }
    }

    func run() throws {
        let log = SyntheticClickLog(
            itemCount: items, sessionCount: sessions, meanLength: meanLength, days: days, seed: seed,
            popularityExponent: popularityExponent)
        let started = DispatchTime.now()
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9 }
        let clicks = try log.writeCSV(to: out, itemPrefix: itemPrefix) { sessions, clicks in
            FileHandle.standardError.write(
                Data("  \(sessions) sessions, \(clicks) clicks, \(Int(Double(clicks) / seconds())) clicks/s\n".utf8))
        }
        let elapsed = seconds()
        print(
            "wrote \(out): \(sessions) sessions, \(clicks) clicks over \(items) items in \(String(format: "%.1f", elapsed)) s (\(Int(Double(clicks) / max(elapsed, 1e-9))) clicks/s)"
        )
    }
}
