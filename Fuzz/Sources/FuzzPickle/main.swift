import SessionData

/// Every pickle entry point: the generic decoder, sessions (`all_train_seq.txt`) and examples
/// (`train.txt`, `test.txt`). Errors are expected; crashes, hangs and huge allocations are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    _ = try? Pickle.decode(bytes, file: "fuzz.pkl")
    _ = try? Pickle.readSessions(bytes, file: "fuzz.pkl")
    if let examples = try? Pickle.readExamples(bytes, file: "fuzz.pkl") {
        // What the reader accepts must be usable: every prefix can become a batch.
        for index in 0..<min(examples.count, 64) where examples.prefix(index).isEmpty {
            fatalError("the reader accepted an empty prefix at example \(index)")
        }
    }
    return 0
}
