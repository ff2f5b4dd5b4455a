#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel to back `bytes` at `start` with transparent huge pages (Linux `MADV_HUGEPAGE`),
/// for large buffers read end to end on every request: the prepared item matrices of inference.
/// Streaming 2 GB through 4 KiB pages costs a page walk every 4 KiB and stops the prefetcher at
/// each page; 2 MiB pages leave only the bandwidth. Call it before the buffer is first written
/// (pages faulted in afterwards are backed huge). Only the 2 MiB-aligned interior is advised; a
/// refusal (huge pages off, another OS) changes only the speed.
public func adviseHugePages(_ start: UnsafeMutableRawPointer, bytes: Int) {
    #if os(Linux)
    let huge = 2 << 20
    let first = (Int(bitPattern: start) + huge - 1) / huge * huge
    let end = (Int(bitPattern: start) + bytes) / huge * huge
    guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(aligned, end - first, MADV_HUGEPAGE)
    #endif
}
