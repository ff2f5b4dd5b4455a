import FuzzSupport
import SessionData

/// The item catalogue's readers (CSV, TSV, JSON lines): the first byte picks the format, the rest
/// is the file. What loads must index against a vocabulary and answer a filter built from its own
/// first attribute and value, and every value must compare by one rule (comparisonText is
/// idempotent).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCatalog(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let names = ["items.csv", "items.tsv", "items.jsonl"]
    let path = Scratch.write(UnsafeRawBufferPointer(rebasing: bytes[1...]), to: names[Int(bytes[0]) % names.count])
    guard let catalog = try? Catalog.load(from: path) else { return 0 }
    let ids = catalog.entries.keys.map(\.string).sorted()
    let vocabulary = ItemVocabulary(rawIDs: ids)
    if vocabulary.count != ids.count { fatalError("a vocabulary of the catalogue's distinct ids lost one") }
    let index = CatalogIndex(catalog, vocabulary: vocabulary)
    if index.rowsNotInModel != 0 { fatalError("a catalogue row did not find its own id") }
    for entry in catalog.entries.values {
        for (attribute, values) in entry.attributes {
            for value in values where Catalog.comparisonText(value) != value {
                fatalError("a stored value is not in its comparison form: \(value)")
            }
            if let value = values.first, let mask = try? index.allowed(filter: [attribute.string: [value]], includeUnavailable: true),
                !(1...max(1, vocabulary.count)).contains(where: { mask.contains(Int32($0)) })
            {
                fatalError("a filter on a value the catalogue has matched nothing")
            }
            break
        }
    }
    return 0
}
