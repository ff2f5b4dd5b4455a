import Foundation
import TensorCore
import Testing
import TestSupport

/// Every score-kernel path this machine runs against the naive oracle, on the awkward shapes:
/// d not a multiple of any vector width, tiles of 1 and 3 items, one session, rows of C and dS
/// wider than the tile (ldc > W), `dE` both written and added to, with and without row scales.
@Suite struct ScoreKernelTests {
    static let shapes: [(rows: Int, d: Int, width: Int)] = [
        (1, 1, 1), (1, 3, 3), (1, 100, 1_030), (2, 17, 1), (7, 17, 3), (7, 3, 65),
        (13, 100, 3), (100, 100, 130), (5, 130, 67),
    ]

    /// Our three products, through `path`, equal the naive ones (accumulated in Double).
    @Test(arguments: ScoreKernels.supportedPaths)
    func productsMatchNaive(path: KernelPath) {
        var rng = SeededGenerator(seed: 11)
        for (rows, d, width) in Self.shapes {
            let ldc = width + 5
            let s = (0..<(rows * d)).map { _ in rng.uniform(-1, 1) }
            let e = (0..<(width * d)).map { _ in rng.uniform(-1, 1) }
            // C starts with noise so that a write outside the tile's columns would show.
            let start = (0..<(rows * ldc)).map { _ in rng.uniform(-1, 1) }
            var fast = start, slow = start
            ScoreKernels.scores(path, session: s, rows: rows, hiddenSize: d, items: e, width: width, into: &fast, ldc: ldc)
            naiveGemm(.none, .transposed, m: rows, n: width, k: d, s, lda: d, e, ldb: d, &slow, ldc: ldc)
            // float32 FMAs over d ≤ 130 terms of size ≤ 1 vs Double.
            #expect(closenessViolation(fast, slow, absolute: 1e-4, relative: 1e-5) == nil, "scores \(path) \(rows)×\(d)×\(width)")

            // dS: the scores just computed, rows ldc apart; then the same with a row scale g (the
            // score layer's softmax factors), against the naive products on dS with row r times g_r.
            let g = (0..<rows).map { _ in rng.uniform(0.001, 2) }
            for rowScale in [nil, g] {
                var ds = slow
                if let rowScale { for r in 0..<rows { for j in 0..<ldc { ds[r * ldc + j] *= rowScale[r] } } }
                let label = "\(path) \(rows)×\(d)×\(width)\(rowScale == nil ? "" : " row-scaled")"
                for accumulate in [false, true] {
                    let startE = (0..<(width * d)).map { _ in rng.uniform(-1, 1) }
                    var fastE = startE, slowE = startE
                    ScoreKernels.embeddingGradient(
                        path, dScores: slow, ldd: ldc, session: s, rows: rows, hiddenSize: d, width: width,
                        into: &fastE, accumulate: accumulate, rowScale: rowScale)
                    naiveGemm(
                        .transposed, .none, m: width, n: d, k: rows, ds, lda: ldc, s, ldb: d, beta: accumulate ? 1 : 0,
                        &slowE, ldc: d)
                    #expect(closenessViolation(fastE, slowE, absolute: 1e-3, relative: 1e-5) == nil, "dE \(label) accumulate \(accumulate)")
                }
                let startS = (0..<(rows * d)).map { _ in rng.uniform(-1, 1) }
                var fastS = startS, slowS = startS
                ScoreKernels.sessionGradient(
                    path, dScores: slow, ldd: ldc, items: e, rows: rows, hiddenSize: d, width: width,
                    adding: &fastS, rowScale: rowScale)
                naiveGemm(.none, .none, m: rows, n: d, k: width, ds, lda: ldc, e, ldb: d, beta: 1, &slowS, ldc: d)
                // Sums of up to 1,030 products of size ≤ ~10 in float32.
                #expect(closenessViolation(fastS, slowS, absolute: 2e-3, relative: 1e-5) == nil, "dS_h \(label)")
            }
        }
    }

    /// A tile that ends where a page without access begins: a kernel that reads one float past
    /// the last item's row crashes the test. Small d matters most: a whole vector then spans
    /// several items' rows.
    @Test(arguments: ScoreKernels.supportedPaths)
    func tileAtTheEndOfMemoryIsNotOverread(path: KernelPath) throws {
        var rng = SeededGenerator(seed: 12)
        for rows in [1, 3] {
            for d in [1, 3, 17, 100] {
                for width in [1, 3, 65] {
                    let s = (0..<(rows * d)).map { _ in rng.uniform(-1, 1) }
                    let guarded = try GuardedFloats(count: width * d)
                    let e = guarded.pointer
                    for i in 0..<(width * d) { e[i] = rng.uniform(-1, 1) }
                    var c = [Float](repeating: 0, count: rows * width), expected = c
                    ScoreKernels.scores(path, session: s, rows: rows, hiddenSize: d, items: e, width: width, into: &c, ldc: width)
                    naiveGemm(.none, .transposed, m: rows, n: width, k: d, s, lda: d, e, ldb: d, &expected, ldc: width)
                    #expect(closenessViolation(c, expected, absolute: 1e-4, relative: 1e-5) == nil, "scores \(path) \(rows)×\(d)×\(width)")
                    var dsh = [Float](repeating: 0, count: rows * d), expectedDsh = dsh
                    ScoreKernels.sessionGradient(
                        path, dScores: c, ldd: width, items: e, rows: rows, hiddenSize: d, width: width, adding: &dsh)
                    naiveGemm(.none, .none, m: rows, n: d, k: width, c, lda: width, e, ldb: d, beta: 1, &expectedDsh, ldc: d)
                    #expect(closenessViolation(dsh, expectedDsh, absolute: 1e-3, relative: 1e-5) == nil, "dS \(path) \(rows)×\(d)×\(width)")
                }
            }
        }
    }

    /// A row's scores do not depend on the rows scored with it, and items packed once give the
    /// very same floats tile by tile: what lets a session score the same alone (`srgnn recommend`),
    /// in a batch (`--input`, the service's coalesced requests) and from a `Recommender`.
    @Test(arguments: ScoreKernels.supportedPaths.filter { $0 != .blas })
    func rowScoresDoNotDependOnTheBatch(path: KernelPath) {
        var rng = SeededGenerator(seed: 13)
        let panel = ScoreKernels.panelItems(path)!
        for (rows, d, count) in [(7, 100, 1_030), (13, 17, 131), (3, 1, 9), (9, 3, 200)] {
            let s = (0..<(rows * d)).map { _ in rng.uniform(-1, 1) }
            let e = (0..<(count * d)).map { _ in rng.uniform(-1, 1) }
            var together = [Float](repeating: 0, count: rows * count)
            ScoreKernels.scores(path, session: s, rows: rows, hiddenSize: d, items: e, width: count, into: &together, ldc: count)
            for r in 0..<rows {
                var alone = [Float](repeating: 0, count: count)
                s.withUnsafeBufferPointer { s in
                    ScoreKernels.scores(
                        path, session: s.baseAddress! + r * d, rows: 1, hiddenSize: d, items: e, width: count,
                        into: &alone, ldc: count)
                }
                #expect(alone == Array(together[(r * count)..<((r + 1) * count)]), "\(path) row \(r) of \(rows)×\(d)×\(count)")
            }
            let packed = ScoreKernels.packItems(path, items: e, count: count, hiddenSize: d)
            #expect(packed.count == (count + panel - 1) / panel * panel * d)
            var fromPacked = [Float](repeating: .nan, count: rows * count)
            let tile = 3 * panel
            fromPacked.withUnsafeMutableBufferPointer { c in
                for first in stride(from: 0, to: count, by: tile) {
                    ScoreKernels.packedScores(
                        path, session: s, rows: rows, hiddenSize: d, packedItems: packed, first: first,
                        width: min(tile, count - first), into: c.baseAddress! + first, ldc: count)
                }
            }
            #expect(fromPacked == together, "\(path) packed \(rows)×\(d)×\(count)")
        }
    }

    /// The machine runs portable everywhere, and BLAS exactly in a BLAS build (`SRGNN_BLAS=1`),
    /// last; `best` is the first supported path, and the default is it unless SRGNN_KERNEL names another.
    @Test func pathsAndDefault() {
        #expect(ScoreKernels.supportedPaths.contains(.portable))
        #expect(ScoreKernels.supportedPaths.contains(.blas) == BLASInfo.isLinked)
        if BLASInfo.isLinked {
            #expect(ScoreKernels.supportedPaths.last == .blas)
        } else {
            #expect(BLASInfo.library == "none")
        }
        #expect(ScoreKernels.best == ScoreKernels.supportedPaths[0])
        #expect(ScoreKernels.supportedPaths.contains(ScoreKernels.defaultPath))
    }

    /// A build without BLAS (the default) has no BLAS library in the process: the release binary
    /// needs none installed. Read from the process's own memory map.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/maps"), "needs /proc/self/maps (Linux)"))
    func noBLASLibraryMappedWithoutBLAS() throws {
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        // The file names of the mapped libraries (libopenblas.so.0, libblas.so.3, …), not their folders.
        let libraries = Set(maps.split(separator: "\n").compactMap { $0.split(separator: "/").last.map { $0.lowercased() } })
        let blasLibraries = libraries.filter { $0.hasPrefix("lib") && $0.contains("blas") }
        #expect(blasLibraries.isEmpty != BLASInfo.isLinked, "\(blasLibraries.sorted())")
    }
}

/// `count` floats that end exactly where an inaccessible page begins.
final class GuardedFloats {
    let base: UnsafeMutableRawPointer
    let length: Int
    let pointer: UnsafeMutablePointer<Float>

    init(count: Int) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let dataPages = (count * MemoryLayout<Float>.size + page - 1) / page
        length = (dataPages + 1) * page
        guard let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else { throw POSIXError(.ENOMEM) }
        base = mapped
        precondition(mprotect(base + dataPages * page, page, PROT_NONE) == 0, "mprotect failed")
        pointer = (base + dataPages * page - count * MemoryLayout<Float>.size).assumingMemoryBound(to: Float.self)
    }

    deinit { munmap(base, length) }
}

/// Top-k inside a mask equals sorting the allowed values, for masks of every density.
@Suite struct MaskedTopKTests {
    @Test func matchesSortingTheAllowedValues() {
        var rng = SeededGenerator(seed: 21)
        for count in [1, 63, 64, 65, 200, 1_000] {
            // Few distinct values, so ties (to the lower index) are exercised.
            let values = (0..<count).map { _ in Float(Int(rng.uniform(0, 20))) }
            for density in [0.0, 0.01, 0.3, 1.0] {
                let mask = ItemMask(count: count, allowing: (1...count).filter { _ in rng.uniform(0, 1) < Float(density) }.map(Int32.init))
                for k in [1, 5, 50, count + 3] {
                    let allowed: [Int] = (0..<count).filter { mask.contains(Int32($0 + 1)) }
                    let sorted: [Int] = allowed.sorted { (a: Int, b: Int) -> Bool in values[a] != values[b] ? values[a] > values[b] : a < b
                    }
                    let expected = sorted.prefix(k)
                    let got = values.withUnsafeBufferPointer { topK($0.baseAddress!, count: count, k: k, allowed: mask) }
                    #expect(got == Array(expected), "count \(count) density \(density) k \(k)")
                }
            }
        }
        let all = ItemMask(count: 70, allowingAll: true)
        #expect(all.allowedCount == 70 && !all.contains(71) && all.contains(70))
    }
}
