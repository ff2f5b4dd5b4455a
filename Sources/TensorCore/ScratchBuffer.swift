/// A growable, manually managed Float buffer for per-batch activations and gradients.
///
/// Reference semantics on purpose: a model's workspace holds a few dozen of these and hands raw
/// pointers to BLAS and to fused loops without nested `withUnsafe…` closures. The rule that keeps
/// those pointers valid is built into the API: only `ensureCapacity` reallocates, and a workspace
/// calls it while sizing itself before a pass; during the pass, `pointer(_:)` and `zeroed(_:)`
/// never reallocate and trap if asked for more than was sized. Steady-state training allocates
/// nothing. Not thread-safe: each thread owns its workspace.
public final class ScratchBuffer {
    private var base: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
        base.initialize(repeating: 0, count: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `count` scalars (contents unspecified after growth). Invalidates every
    /// pointer taken before: call it only while sizing a workspace, before a pass.
    public func ensureCapacity(_ count: Int) {
        guard count > capacity else { return }
        base.deallocate()
        // Headroom so a slightly larger batch does not reallocate again.
        capacity = count + count / 4
        base = .allocate(capacity: capacity)
        base.initialize(repeating: 0, count: capacity)
    }

    /// The first `count` scalars; never reallocates.
    @inlinable
    public func pointer(_ count: Int) -> UnsafeMutablePointer<Float> {
        precondition(
            count <= capacity, "scratch buffer sized for \(capacity) scalars, asked for \(count): size the workspace before the pass")
        return unsafeBase
    }

    /// The first `count` scalars, set to zero; never reallocates.
    @inlinable
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = pointer(count)
        p.update(repeating: 0, count: count)
        return p
    }

    @usableFromInline var unsafeBase: UnsafeMutablePointer<Float> { base }
}
