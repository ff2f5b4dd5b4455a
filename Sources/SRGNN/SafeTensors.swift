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

    /// Reads and checks a file; every problem is an error that names the path.
    public init(contentsOf path: String) throws {
        func fail(_ reason: String) -> ModelError { .weightsFile(path: path, reason: reason) }
        // Only a regular file is read whole (a device such as /dev/zero never ends).
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw fail("cannot read the file: is not a regular file (a device, pipe or socket), expected a file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail("cannot read the file (missing or unreadable)")
        }
        try self.init(data: data, path: path)
        sha256 = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Parses safetensors bytes; `path` is used in error messages only.
    public init(data: Data, path: String = "<memory>") throws {
        func fail(_ reason: String) -> ModelError { .weightsFile(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, a safetensors file starts with an 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("truncated or not safetensors: header length \(headerLength) exceeds the \(data.count - 8) bytes after it")
        }
        let headerStart = data.startIndex + 8
        let header = data[headerStart..<(headerStart + Int(headerLength))]
        guard let object = try? JSONSerialization.jsonObject(with: header), let table = object as? [String: Any] else {
            throw fail("the header is not a JSON object (not a safetensors file?)")
        }
        let dataStart = headerStart + Int(headerLength)
        let available = data.count - 8 - Int(headerLength)
        var entries = [String: Entry]()
        var metadata = [String: String]()
        var spans = [(range: Range<Int>, name: String)]()
        /// A JSON number that is a whole number in `0...Int.max`, or nil (fractions, negatives, 1e300).
        func count(_ value: Any) -> Int? {
            guard let number = value as? NSNumber else { return nil }
            let double = number.doubleValue
            guard double.isFinite, double >= 0, double < 9.2e18 else { return nil }
            let integer = number.int64Value
            guard integer >= 0, Double(integer) == double else { return nil }
            return Int(integer)
        }
        for (name, value) in table {
            if name == "__metadata__" {
                if let map = value as? [String: Any] { for (k, v) in map { metadata[k] = "\(v)" } }
                continue
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
                throw fail("tensor '\(name)': shape \(shape) of \(dtypeName) needs more bytes than the file's \(available)-byte data section holds")
            }
            guard offsets[1] >= offsets[0], offsets[1] - offsets[0] == expectedBytes else {
                throw fail("tensor '\(name)': data_offsets \(offsets) do not hold \(shape) of \(dtypeName)")
            }
            guard offsets[1] <= available else {
                throw fail("truncated: tensor '\(name)' ends at byte \(offsets[1]) of the data section, which has \(available) bytes")
            }
            spans.append((offsets[0]..<offsets[1], name))
            entries[name] = Entry(dtype: dtype, shape: shape, data: Data(data[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
        }
        spans.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for (a, b) in zip(spans, spans.dropFirst()) where b.range.lowerBound < a.range.upperBound && !a.range.isEmpty && !b.range.isEmpty {
            throw fail("tensors '\(a.name)' and '\(b.name)' overlap: data_offsets \(a.range.lowerBound)..<\(a.range.upperBound) and \(b.range.lowerBound)..<\(b.range.upperBound)")
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// Float values of a tensor (F32, or F64 narrowed).
    public func floats(_ name: String) -> [Float]? {
        guard let entry = entries[name] else { return nil }
        switch entry.dtype {
        case .f32: return entry.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { Float(bitPattern: $0.bitPattern.littleEndian) }
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

    /// The file's bytes: header padded with spaces to a multiple of 8, tensors in name order.
    public func serialized() throws -> Data {
        var header = [String: Any]()
        var offset = 0
        let names = entries.keys.sorted()
        for name in names {
            let entry = entries[name]!
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.data.count]]
            offset += entry.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
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
            throw fail("tensor 'embedding.weight' has shape \(embedding.shape): at most \(SRGNNConfiguration.maximumItemCount) items and hidden size \(SRGNNConfiguration.maximumHiddenSize)")
        }
        // NISER+'s position embedding is optional (absent: SR-GNN); its rows come from its shape.
        var positionRows = 0
        if let positions = file.entries[ParameterName.reversePositionEmbedding.rawValue] {
            guard positions.shape.count == 2, positions.shape[1] == hiddenSize,
                  (1...SRGNNConfiguration.maximumPositionEmbeddingRows).contains(positions.shape[0]) else {
                throw fail("tensor '\(ParameterName.reversePositionEmbedding.rawValue)' has shape \(positions.shape), expected [positions, \(hiddenSize)] with 1...\(SRGNNConfiguration.maximumPositionEmbeddingRows) positions")
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
        file.set("gnn.linear_edge_f.weight", shape: [hiddenSize, hiddenSize], floats: [Float](repeating: 0, count: hiddenSize * hiddenSize))
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
