/// A dense, row-major Float32 tensor: a shape and a contiguous buffer.
///
/// A value type (copy-on-write through `[Float]`), so a model made of tensors is `Sendable`
/// and can be shared read-only across threads. Hot loops reach the storage through
/// `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer` and allocate nothing.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// A tensor of zeros with the given shape.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor over existing scalars; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// Number of scalars.
    @inlinable public var count: Int { scalars.count }
    /// Rows of a matrix (first dimension).
    @inlinable public var rows: Int { shape.first ?? 1 }
    /// Columns of a matrix (product of the remaining dimensions).
    @inlinable public var columns: Int { shape.count <= 1 ? (shape.first ?? 1) : shape.dropFirst().reduce(1, *) }

    /// Element of a matrix at `[row, column]`.
    @inlinable public subscript(row: Int, column: Int) -> Float {
        get { scalars[row * columns + column] }
        set { scalars[row * columns + column] = newValue }
    }

    /// Sets every scalar to zero without reallocating.
    public mutating func zero() {
        scalars.withUnsafeMutableBufferPointer { buffer in
            buffer.update(repeating: 0)
        }
    }

    /// A copy of one row of a matrix.
    public func row(_ index: Int) -> [Float] {
        let width = columns
        return Array(scalars[(index * width)..<((index + 1) * width)])
    }
}
