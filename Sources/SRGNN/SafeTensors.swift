import Crypto
import Foundation
import SessionData

/// A safetensors file: an 8-byte little-endian header length, a JSON header mapping each name to
/// `{dtype, shape, data_offsets}`, then the raw little-endian data.
public struct SafeTensorsFile: Sendable {
    public enum DType: String, Sendable { case f32 = "F32", f64 = "F64", i64 = "I64", i32 = "I32" }

    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var data: Data
        public init(dtype: DType, shape: [Int], data: Data) { self.dtype = dtype; self.shape = shape; self.data = data }
    }

    public var entries: [String: Entry]
    /// The optional `__metadata__` string map.
    public var metadata: [String: String]
    /// SHA-256 of the file's bytes (lowercase hex) when it was read from a file: the identity of a
    /// checkpoint in lineages and in the service's `/v1/model`.
    public private(set) var sha256: String?

    public init(entries: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.entries = entries
        self.metadata = metadata
    }

    /// The metadata key of the SHA-256 (lowercase hex) of the data section, written with every
    /// file and checked at every read: a partly written or damaged file is refused, not served.
    public static let dataChecksumKey = "srgnn.data-sha256"
    /// The largest JSON header read (the limit of the reference safetensors reader): a budget, so
    /// that a file's first 8 bytes cannot make the reader allocate what they like.
    public static let maximumHeaderBytes = 100_000_000

    /// Whether the file carried a checksum of its tensor data (then it was checked); false for
    /// files written before checksums and by other tools. Always true for a file built in memory.
    public private(set) var hasDataChecksum = true

    /// Reads and checks a file; every problem is an error that names the path, and no error
    /// echoes the file's bytes (a file that is not safetensors may hold anything). Only what the
    /// header describes is read: the header length and the header first (within
    /// `maximumHeaderBytes`), then the file's size must be exactly what they describe (a larger
    /// file is refused as too large before its data is read, a shorter one as truncated).
    public init(contentsOf path: String) throws {
        func fail(_ reason: String) -> ModelError { .weightsFile(path: path, reason: reason) }
        // O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file reads as usual.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw fail("cannot read the file (missing or unreadable): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("cannot read the file: \(String(cString: strerror(errno)))") }
        // Only a regular file is read (a device such as /dev/zero never ends).
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw fail("cannot read the file: is not a regular file (a device, pipe or socket), expected a file")
        }
        let size = Int(info.st_size)
        guard size >= 8 else { throw fail("truncated: \(size) bytes, a safetensors file starts with an 8-byte header length") }
        let prefix = try Self.read(fd, at: 0, count: 8, fail)
        let headerLength = prefix.enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= UInt64(size - 8) else {
            throw fail("truncated or not safetensors: its first 8 bytes do not give a header length that fits in the file's \(size) bytes")
        }
        guard headerLength <= UInt64(Self.maximumHeaderBytes) else {
            throw fail("too large: the header is longer than \(Self.maximumHeaderBytes) bytes, the limit for a safetensors header")
        }
        let header = try Self.read(fd, at: 8, count: Int(headerLength), fail)
        let available = size - 8 - Int(headerLength)
        let table = try HeaderTable(header, dataAvailable: available, fail: fail)
        // Physical memory is the budget for the data: a larger file can never be loaded.
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(table.dataLength) <= memory else {
            throw fail("too large: its tensors hold \(table.dataLength) bytes, more than this machine's \(memory) bytes of memory")
        }
        let data = try Self.read(fd, at: 8 + Int(headerLength), count: table.dataLength, fail)
        try self.init(table: table, data: data, fail: fail)
        var whole = SHA256()
        whole.update(data: prefix)
        whole.update(data: header)
        whole.update(data: data)
        sha256 = whole.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Parses safetensors bytes; `path` is used in error messages only. The bytes must end where
    /// the header's last tensor ends.
    public init(data: Data, path: String = "<memory>") throws {
        func fail(_ reason: String) -> ModelError { .weightsFile(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, a safetensors file starts with an 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("truncated or not safetensors: its first 8 bytes do not give a header length that fits in its \(data.count) bytes")
        }
        guard headerLength <= UInt64(Self.maximumHeaderBytes) else {
            throw fail("too large: the header is longer than \(Self.maximumHeaderBytes) bytes, the limit for a safetensors header")
        }
        let headerStart = data.startIndex + 8
        let header = data[headerStart..<(headerStart + Int(headerLength))]
        let dataStart = headerStart + Int(headerLength)
        let table = try HeaderTable(header, dataAvailable: data.count - 8 - Int(headerLength), fail: fail)
        try self.init(table: table, data: data[dataStart..<(dataStart + table.dataLength)], fail: fail)
    }

    /// The entries of a parsed header over its data section, the data's checksum checked.
    private init(table: HeaderTable, data: Data, fail: (String) -> ModelError) throws {
        var metadata = table.metadata
        if let recorded = metadata.removeValue(forKey: Self.dataChecksumKey) {
            guard recorded == Self.hexSHA256(data) else {
                throw fail(
                    "damaged: its tensor data does not match the SHA-256 recorded in its header (a partly written or corrupted copy?)")
            }
        } else {
            hasDataChecksum = false
        }
        var entries = [String: Entry]()
        for tensor in table.tensors {
            let range = (data.startIndex + tensor.range.lowerBound)..<(data.startIndex + tensor.range.upperBound)
            entries[tensor.name] = Entry(dtype: tensor.dtype, shape: tensor.shape, data: Data(data[range]))
        }
        self.entries = entries
        self.metadata = metadata
    }

    static func hexSHA256<D: DataProtocol>(_ data: D) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Exactly `count` bytes at `offset` of `fd`, or an error (the file changed under the reader).
    private static func read(_ fd: Int32, at offset: Int, count: Int, _ fail: (String) -> ModelError) throws -> Data {
        var bytes = Data(count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { raw in
            while done < count {
                let got = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw fail("cannot read the file: \(String(cString: strerror(errno)))") }
                guard got > 0 else { throw fail("truncated: the file ended while it was read (did it change?)") }
                done += got
            }
        }
        return bytes
    }

    /// A checked safetensors header: its tensors (each within the data section, none
    /// overlapping), its metadata, and where the last tensor ends.
    private struct HeaderTable {
        var tensors = [(name: String, dtype: DType, shape: [Int], range: Range<Int>)]()
        var metadata = [String: String]()
        /// The data section's length the header describes: the end of its last tensor.
        var dataLength = 0

        /// `available` is the file's byte count after the header; bytes beyond the last tensor
        /// are refused as too large.
        init(_ header: Data, dataAvailable available: Int, fail: (String) -> ModelError) throws {
            guard header.first(where: { $0 != 0x20 }) == UInt8(ascii: "{"),
                let object = try? JSONSerialization.jsonObject(with: header), let table = object as? [String: Any]
            else {
                throw fail("the header is not a JSON object (not a safetensors file?)")
            }
            for (name, value) in table {
                if name == "__metadata__" {
                    if let map = value as? [String: Any] { for (k, v) in map { metadata[k] = "\(v)" } }
                    continue
                }
                tensors.append(try Self.tensor(name, value, available: available, fail: fail))
            }
            let spans = tensors.map { (range: $0.range, name: $0.name) }
                .sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
            for (a, b) in zip(spans, spans.dropFirst())
            where b.range.lowerBound < a.range.upperBound && !a.range.isEmpty && !b.range.isEmpty {
                throw fail(
                    "tensors '\(a.name)' and '\(b.name)' overlap: data_offsets \(a.range.lowerBound)..<\(a.range.upperBound) and \(b.range.lowerBound)..<\(b.range.upperBound)"
                )
            }
            dataLength = tensors.map(\.range.upperBound).max() ?? 0
            guard available == dataLength else {
                throw fail(
                    "too large: \(available - dataLength) bytes follow the last tensor's data (the header describes a \(dataLength)-byte data section); a safetensors file ends with its data"
                )
            }
        }

        /// One tensor's header entry, checked against the data section's `available` bytes.
        static func tensor(
            _ name: String, _ value: Any, available: Int, fail: (String) -> ModelError
        ) throws
            -> (name: String, dtype: DType, shape: [Int], range: Range<Int>)
        {
            /// A JSON number that is a whole number in `0...Int.max`, or nil (fractions, negatives, 1e300).
            func count(_ value: Any) -> Int? {
                guard let number = value as? NSNumber else { return nil }
                let double = number.doubleValue
                guard double.isFinite, double >= 0, double < 9.2e18 else { return nil }
                let integer = number.int64Value
                guard integer >= 0, Double(integer) == double else { return nil }
                return Int(integer)
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                let rawShape = info["shape"] as? [Any], let rawOffsets = info["data_offsets"] as? [Any], rawOffsets.count == 2
            else { throw fail("tensor '\(name)': header entry lacks dtype, shape or data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)': unsupported dtype \(dtypeName) (expected F32, F64, I64 or I32)")
            }
            let shape = rawShape.compactMap(count), offsets = rawOffsets.compactMap(count)
            guard shape.count == rawShape.count, shape.count <= 8 else {
                throw fail("tensor '\(name)': shape \(rawShape) must be at most 8 whole numbers ≥ 0")
            }
            guard offsets.count == 2 else {
                throw fail("tensor '\(name)': data_offsets \(rawOffsets) must be two whole numbers ≥ 0")
            }
            // Checked arithmetic: a shape such as [4611686018427387904, 4] is an error, not a trap.
            let width = (dtype == .f32 || dtype == .i32) ? 4 : 8
            var expectedBytes: Int? = width
            for dimension in shape {
                guard let bytes = expectedBytes else { break }
                let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
                expectedBytes = overflow ? nil : product
            }
            guard let expectedBytes, expectedBytes <= available else {
                throw fail(
                    "tensor '\(name)': shape \(shape) of \(dtypeName) needs more bytes than the file's \(available)-byte data section holds"
                )
            }
            guard offsets[1] >= offsets[0], offsets[1] - offsets[0] == expectedBytes else {
                throw fail("tensor '\(name)': data_offsets \(offsets) do not hold \(shape) of \(dtypeName)")
            }
            guard offsets[1] <= available else {
                throw fail("truncated: tensor '\(name)' ends at byte \(offsets[1]) of the data section, which has \(available) bytes")
            }
            return (name, dtype, shape, offsets[0]..<offsets[1])
        }
    }

    /// Float values of a tensor (F32, or F64 narrowed).
    public func floats(_ name: String) -> [Float]? {
        guard let entry = entries[name] else { return nil }
        switch entry.dtype {
        case .f32:
            return entry.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { Float(bitPattern: $0.bitPattern.littleEndian) }
        case .f64: return entry.data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }.map { Float($0) }
        case .i64, .i32: return integers(name)?.map { Float($0) }
        }
    }

    /// Integer values of a tensor (I64 or I32).
    public func integers(_ name: String) -> [Int]? {
        guard let entry = entries[name] else { return nil }
        switch entry.dtype {
        case .i64: return entry.data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }.map { Int(Int64(littleEndian: $0)) }
        case .i32: return entry.data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }.map { Int(Int32(littleEndian: $0)) }
        default: return nil
        }
    }

    /// Adds a Float32 tensor.
    public mutating func set(_ name: String, shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count)
        let data = floats.withUnsafeBufferPointer { Data(buffer: $0) }
        entries[name] = Entry(dtype: .f32, shape: shape, data: data)
    }

    /// The file's bytes: header padded with spaces to a multiple of 8, tensors in name order; the
    /// metadata holds the data section's SHA-256 under `dataChecksumKey` (a string, as the format
    /// asks, so other safetensors readers take the file as it is).
    public func serialized() throws -> Data {
        var header = [String: Any]()
        var offset = 0
        let names = entries.keys.sorted()
        for name in names {
            let entry = entries[name]!
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.data.count]]
            offset += entry.data.count
        }
        var checksum = SHA256()
        for name in names { checksum.update(data: entries[name]!.data) }
        var stamped = metadata
        stamped[Self.dataChecksumKey] = checksum.finalize().map { String(format: "%02x", $0) }.joined()
        header["__metadata__"] = stamped
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names { data.append(entries[name]!.data) }
        return data
    }

    /// Writes the file atomically (temporary name in the same folder, then rename).
    public func write(to path: String) throws {
        try writeAtomically(try serialized(), to: path)
    }
}

/// Writes `data` atomically (a temporary file beside `path`, then `rename`), so a reader never
/// sees a half-written file and a failed write leaves the old one intact.
public func writeAtomically(_ data: Data, to path: String) throws {
    do {
        try FileIO.writeAtomically([UInt8](data), to: path)
    } catch let error as SessionDataError {
        throw ModelError.weightsFile(path: path, reason: error.description.replacingOccurrences(of: path + ": ", with: ""))
    }
}

extension SRGNNParameters {
    /// Parameters from a safetensors file under the official names. Item count and hidden size come
    /// from `embedding.weight`'s shape; every other tensor must have the matching shape and F32 dtype.
    /// Returns the names that were present but ignored (`gnn.linear_edge_f.*` and foreign tensors).
    public static func load(from file: SafeTensorsFile, path: String) throws -> (parameters: SRGNNParameters, ignored: [String]) {
        func fail(_ reason: String) -> ModelError { .weightsFile(path: path, reason: reason) }
        guard let embedding = file.entries[ParameterName.embedding.rawValue] else {
            throw fail("missing tensor 'embedding.weight' (expected shape [items + 1, hidden size])")
        }
        guard embedding.shape.count == 2, embedding.shape[0] >= 2, embedding.shape[1] >= 1 else {
            throw fail("tensor 'embedding.weight' has shape \(embedding.shape), expected [items + 1, hidden size]")
        }
        let rows = embedding.shape[0], hiddenSize = embedding.shape[1]
        guard rows - 1 <= SRGNNConfiguration.maximumItemCount, hiddenSize <= SRGNNConfiguration.maximumHiddenSize else {
            throw fail(
                "tensor 'embedding.weight' has shape \(embedding.shape): at most \(SRGNNConfiguration.maximumItemCount) items and hidden size \(SRGNNConfiguration.maximumHiddenSize)"
            )
        }
        // NISER+'s position embedding is optional (absent: SR-GNN); its rows come from its shape.
        var positionRows = 0
        if let positions = file.entries[ParameterName.reversePositionEmbedding.rawValue] {
            guard positions.shape.count == 2, positions.shape[1] == hiddenSize,
                (1...SRGNNConfiguration.maximumPositionEmbeddingRows).contains(positions.shape[0])
            else {
                throw fail(
                    "tensor '\(ParameterName.reversePositionEmbedding.rawValue)' has shape \(positions.shape), expected [positions, \(hiddenSize)] with 1...\(SRGNNConfiguration.maximumPositionEmbeddingRows) positions"
                )
            }
            positionRows = positions.shape[0]
        }
        var parameters = SRGNNParameters(zerosWithEmbeddingRows: rows, hiddenSize: hiddenSize, positionRows: positionRows)
        // Every tensor present with the shape the embedding implies, before anything is allocated.
        for name in parameters.tensorNames {
            let expected = parameters.shape(of: name)
            guard let entry = file.entries[name.rawValue] else {
                throw fail("missing tensor '\(name.rawValue)' (expected shape \(expected), F32)")
            }
            guard entry.dtype == .f32 else {
                throw fail("tensor '\(name.rawValue)' has dtype \(entry.dtype.rawValue), expected F32 with shape \(expected)")
            }
            guard entry.shape == expected else {
                throw fail("tensor '\(name.rawValue)' has shape \(entry.shape), expected \(expected)")
            }
        }
        for name in parameters.tensorNames {
            let values = file.floats(name.rawValue)!
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw fail("tensor '\(name.rawValue)' holds \(values[bad]) at element \(bad); weights must be finite numbers")
            }
            parameters.setTensor(name, values)
        }
        let known = Set(ParameterName.allCases.map(\.rawValue))
        let ignored = file.entries.keys.filter { !known.contains($0) }.sorted()
        return (parameters, ignored)
    }

    /// A safetensors file under the official names. `gnn.linear_edge_f.*` is written as zeros so
    /// that the official code's strict `load_state_dict` accepts the file.
    public func safeTensors(metadata: [String: String] = [:]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: metadata)
        for name in tensorNames {
            file.set(name.rawValue, shape: shape(of: name), floats: Array(storage[range(of: name)]))
        }
        file.set(
            "gnn.linear_edge_f.weight", shape: [hiddenSize, hiddenSize], floats: [Float](repeating: 0, count: hiddenSize * hiddenSize))
        file.set("gnn.linear_edge_f.bias", shape: [hiddenSize], floats: [Float](repeating: 0, count: hiddenSize))
        return file
    }
}

extension SRGNNModel {
    /// Writes the weights under the official names, atomically.
    public func saveWeights(to path: String, metadata: [String: String] = [:]) throws {
        try parameters.safeTensors(metadata: metadata).write(to: path)
    }
}
