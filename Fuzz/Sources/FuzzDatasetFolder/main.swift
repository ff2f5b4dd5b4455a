import FuzzSupport
import SessionData

/// This tool's dataset folder: the input holds `dataset.json`, `items.txt`, `train_sessions.txt`
/// and `test_examples.txt`, separated by NUL bytes. Sessions are read whole; their examples are
/// views of their clicks, so memory and time stay linear in the input, however long a session.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatasetFolder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let parts = bytes.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
    let names = [DatasetFolder.manifestName, DatasetFolder.itemsName, DatasetFolder.trainSessionsName, DatasetFolder.testExamplesName]
    for (index, name) in names.enumerated() {
        let part = index < parts.count ? UnsafeRawBufferPointer(rebasing: parts[index]) : UnsafeRawBufferPointer(start: nil, count: 0)
        _ = Scratch.write(part, to: name)
    }
    _ = try? DatasetFolder.loadNative(Scratch.folder)
    return 0
}
