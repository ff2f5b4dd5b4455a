import Foundation
import SRGNN

/// The safetensors loader and the checkpoint loader on top of it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    if let file = try? SafeTensorsFile(data: data, path: "fuzz.safetensors") {
        _ = try? SRGNNParameters.load(from: file, path: "fuzz.safetensors")
        for name in file.entries.keys.prefix(32) { _ = file.floats(name); _ = file.integers(name) }
    }
    return 0
}
