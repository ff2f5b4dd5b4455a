/// A growable, manually managed Float buffer for per-batch activations and gradients.
///
/// Reference semantics on purpose: a model's workspace holds a dozen of these and hands raw
/// pointers to BLAS and to fused loops without nested `withUnsafe…` closures. It reallocates only
/// when asked for more than it holds, so steady-state training allocates nothing. Not thread-safe:
/// each thread owns its workspace.
public final class ScratchBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = .allocate(capacity: self.capacity)
        pointer.initialize(repeating: 0, count: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// A pointer to at least `count` scalars (contents unspecified after growth).
    @inlinable @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity { grow(count) }
        return pointer
    }

    /// A pointer to `count` zeroed scalars.
    @inlinable @discardableResult
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = reserve(count)
        p.update(repeating: 0, count: count)
        return p
    }

    @usableFromInline func grow(_ count: Int) {
        pointer.deallocate()
        // Headroom so a slightly larger batch does not reallocate again.
        capacity = count + count / 4
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
}
