import ArgumentParser
import Foundation
import Recommending
import SessionData
import SRGNN

/// The item catalog and the cold-session fallback; shared by `recommend` and `serve` so that both
/// give one answer.
struct CatalogOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Item catalog: .csv, .tsv (a header with an id column, optional 'available', attribute columns) or .jsonl (one {\"id\": …, \"available\": …, attribute: value} a line). Unavailable items are left out; attributes can be filtered on.",
            valueName: "path"))
    var catalog: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "What answers a session the model cannot embed (empty, or only unknown items): popularity (the checkpoint's recent most clicked items, item rules applied) or none (an error).",
            valueName: "popularity|none"))
    var fallback: Fallback = .popularity
}

extension Fallback: ExpressibleByArgument {}

/// `srgnn recommend`'s item rules: `--exclude`, `--filter`, `--include-unavailable`, `--candidates`.
struct ItemRuleOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Item ids never to recommend, comma-separated (e.g. the basket).", valueName: "ids"))
    var exclude: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Recommend only items whose catalog attribute has one of the values, e.g. --filter category=shoes,boots (needs --catalog; repeat for several attributes, an item must match each).",
            valueName: "attribute=values"))
    var filter: [String] = []

    @Flag(name: .long, help: "Also recommend items the catalog marks unavailable.")
    var includeUnavailable = false

    @Option(name: .long, help: ArgumentHelp("Rank only these item ids, comma-separated (e.g. a shelf to reorder).", valueName: "ids"))
    var candidates: String?

    func validate() throws { _ = try rules }

    /// The rules the flags give (nil fields for flags not given), as a request's JSON would.
    var rules: ItemRules {
        get throws {
            var filters = [String: [Catalog.Scalar]]()
            for text in filter {
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw ValidationError(
                        "--filter '\(quotedPrefix(text))': expected attribute=value[,value…], e.g. --filter category=shoes,boots")
                }
                let attribute = Self.trimmingBlanks(text[..<equals])
                let values = try Self.list(String(text[text.index(after: equals)...]), option: "--filter \(attribute)=")
                filters[attribute, default: []] += values.map(Catalog.Scalar.init)
            }
            return ItemRules(
                exclude: try exclude.map { try Self.list($0, option: "--exclude").map(JSONItemID.init) },
                filter: filters.isEmpty ? nil : filters,
                includeUnavailable: includeUnavailable ? true : nil,
                candidates: try candidates.map { try Self.list($0, option: "--candidates").map(JSONItemID.init) })
        }
    }

    /// Comma-separated values, none empty. Spaces and tabs around a value are formatting, as
    /// around a catalogue's CSV field; the values then compare by the catalogue's one rule
    /// (`Catalog.comparisonText`: `41.0` matches `41`, as in a request), ids byte for byte.
    static func list(_ text: String, option: String) throws -> [String] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map(Self.trimmingBlanks)
        if let index = values.firstIndex(of: "") {
            throw ValidationError(
                values.count == 1
                    ? "\(option) is empty: give at least one value"
                    : "\(option): the value at position \(index + 1) is empty")
        }
        return values
    }

    /// `text` without leading and trailing spaces and tabs (only those: other characters, such as
    /// a no-break space, are part of an id or value).
    static func trimmingBlanks(_ text: Substring) -> String {
        var bytes = text.utf8[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        return String(Substring(bytes))
    }
}

/// How `recommend` and `serve` find a session's best items: exact full ranking (the default) or
/// approximate retrieval for large catalogues.
struct RetrievalOptions: ParsableArguments {
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case exact, approximate
    }

    @Option(
        name: .long,
        help: ArgumentHelp(
            "exact: score every item in fp32 (the model's own ranking). approximate: scan an int8 copy of the item matrix (a quarter of the memory traffic, for catalogues of millions of items) and rescore its best --retrieval-candidates exactly; recall@20 against exact is in docs/PERFORMANCE.md.",
            valueName: "exact|approximate"))
    var retrieval: Mode = .exact

    @Option(
        name: .long,
        help: ArgumentHelp("--retrieval approximate: candidates rescored exactly per session.", valueName: "n"))
    var retrievalCandidates = Retrieval.defaultCandidates

    func validate() throws {
        guard (1...Retrieval.maximumCandidates).contains(retrievalCandidates) else {
            throw ValidationError("--retrieval-candidates must be in 1...\(Retrieval.maximumCandidates), got \(retrievalCandidates)")
        }
    }

    var value: Retrieval {
        switch retrieval {
        case .exact: .exact
        case .approximate: .approximate(candidates: retrievalCandidates)
        }
    }
}
