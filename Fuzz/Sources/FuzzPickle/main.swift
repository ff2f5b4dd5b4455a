import SessionData

/// Every pickle entry point: the generic decoder, sessions (`all_train_seq.txt`) and examples
/// (`train.txt`, `test.txt`). Errors are expected; crashes, hangs and huge allocations are bugs.
/// The value budget is 2^16 here (what the old bytes ratio allowed a 64 kB input), not the default
/// 2^28: that one is for real datasets, and a fuzz input expanding to it through the memo would be
/// a (legitimate) gigabyte and take far over the 1 s limit.
let budget = 1 << 16

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    _ = try? Pickle.decode(bytes, file: "fuzz.pkl", budget: budget)
    _ = try? Pickle.readSessions(bytes, file: "fuzz.pkl", budget: budget)
    if let examples = try? Pickle.readExamples(bytes, file: "fuzz.pkl", budget: budget) {
        // What the reader accepts must be usable: every prefix can become a batch.
        for index in 0..<min(examples.count, 64) where examples.prefix(index).isEmpty {
            fatalError("the reader accepted an empty prefix at example \(index)")
        }
    }
    return 0
}
