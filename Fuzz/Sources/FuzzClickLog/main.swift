import FuzzSupport
import SessionData

/// The click-log readers (CSV with names, Diginetica, Yoochoose, RecBole `.inter`): the first byte
/// picks the format, the rest is the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClickLog(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let path = Scratch.write(UnsafeRawBufferPointer(rebasing: bytes[1...]), to: "clicks")
    let formats: [ClickLogFormat] = [
        .diginetica, .yoochoose, .recbole(),
        ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session"), item: .name("item"),
            time: .name("time"), timeFormat: .unix),
    ]
    let format = formats[Int(bytes[0]) % formats.count]
    _ = try? ClickLogReader(format: format).read(path)
    return 0
}
