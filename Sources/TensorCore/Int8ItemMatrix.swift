import CKernels

/// An item matrix quantised to int8 row by row (scale `max |e_j| / 127`), packed for the
/// approximate scan (`srgnn_int8_scores`): a quarter of the fp32 matrix's bytes, so that a lone
/// session's scan, which streams every item from memory, reads a quarter as much. Immutable.
public struct Int8ItemMatrix: Sendable {
    public let itemCount: Int
    public let hiddenSize: Int
    let panels: [Int8]
    let scales: [Float]
    let sums: [Int32]

    /// Items per panel: a tile of the scan starts on a multiple of it.
    public static let panelItems = Int(SRGNN_INT8_PANEL_ITEMS)

    /// Quantises `items` `[count, hiddenSize]` (item `j` in row `j`).
    public init(items: UnsafePointer<Float>, count: Int, hiddenSize d: Int) {
        precondition(count >= 0 && d >= 1)
        itemCount = count
        hiddenSize = d
        let panelCount = (count + Self.panelItems - 1) / Self.panelItems, padded = panelCount * Self.panelItems
        var scales = [Float](repeating: 0, count: padded), sums = [Int32](repeating: 0, count: padded)
        panels = [Int8](unsafeUninitializedCapacity: panelCount * Int(srgnn_int8_panel_bytes(Int64(d)))) { panels, initialized in
            adviseHugePages(UnsafeMutableRawPointer(panels.baseAddress!), bytes: panels.count)
            srgnn_int8_pack_items(items, Int64(count), Int64(d), panels.baseAddress!, &scales, &sums)
            initialized = panels.count
        }
        self.scales = scales
        self.sums = sums
    }

    /// `rows` query vectors `[rows, hiddenSize]` quantised for `scores`.
    public func quantize(queries: UnsafePointer<Float>, rows: Int) -> Int8Queries {
        let width = (hiddenSize + 3) / 4 * 4
        var scales = [Float](repeating: 0, count: rows)
        let bytes = [UInt8](unsafeUninitializedCapacity: rows * width) { bytes, initialized in
            for r in 0..<rows {
                scales[r] = srgnn_int8_quantize_query(queries + r * hiddenSize, Int64(hiddenSize), bytes.baseAddress! + r * width)
            }
            initialized = rows * width
        }
        return Int8Queries(rows: rows, bytes: bytes, scales: scales)
    }

    /// `out[r, j − first] ≈ query_r · e_j` for the items `first..<first + width` (`first` a
    /// multiple of `panelItems`), rows of `out` `ldo` apart; the same values on every path.
    public func scores(
        _ path: KernelPath, _ queries: Int8Queries, first: Int, width: Int, into out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        precondition(first % Self.panelItems == 0 && first >= 0 && first + width <= itemCount, "tile outside the items or off a panel")
        queries.bytes.withUnsafeBufferPointer { bytes in
            queries.scales.withUnsafeBufferPointer { queryScales in
                panels.withUnsafeBufferPointer { panels in
                    scales.withUnsafeBufferPointer { scales in
                        sums.withUnsafeBufferPointer { sums in
                            srgnn_int8_scores(
                                path.loopKernel, bytes.baseAddress!, queryScales.baseAddress!, Int64(queries.rows), Int64(hiddenSize),
                                panels.baseAddress!, scales.baseAddress!, sums.baseAddress!, Int64(first), Int64(width), out, Int64(ldo))
                        }
                    }
                }
            }
        }
    }
}

/// Query vectors quantised by `Int8ItemMatrix.quantize(queries:rows:)`.
public struct Int8Queries: Sendable {
    public let rows: Int
    let bytes: [UInt8]
    let scales: [Float]
}
