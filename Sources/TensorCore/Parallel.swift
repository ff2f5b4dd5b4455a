import CKernels
import Dispatch

/// Runs `body(i)` for `i` in `0..<count`, split into contiguous chunks over `threads` workers.
///
/// With `threads <= 1` (or tiny `count`) it runs inline, so results are deterministic when the
/// caller asks for one thread. `body` must only write disjoint memory per index.
@inlinable
public func parallelFor(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Int) -> Void) {
    let workers = min(threads, count / max(1, minimumPerThread))
    if workers <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    runWorkers(workers) { worker in
        for i in (count * worker / workers)..<(count * (worker + 1) / workers) { body(i) }
    }
}

/// Runs `body(range)` on contiguous chunks of `0..<count`, one per worker.
@inlinable
public func parallelChunks(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(threads, count / max(1, minimumPerThread))
    if workers <= 1 {
        body(0..<count)
        return
    }
    runWorkers(workers) { worker in body((count * worker / workers)..<(count * (worker + 1) / workers)) }
}

/// Runs `body(worker, i)` for every `i` in `0..<count` on up to `workers` workers, each taking the
/// next `i` as it finishes one: a core that runs slower for a while (the host's other guests, an
/// interrupt) takes fewer, where a fixed split leaves the other core waiting for it. Each worker
/// sees its indices in increasing order; which worker runs which index varies from run to run, so
/// `body` must give the same result on any worker.
@inlinable
public func parallelTakeNext(_ count: Int, workers: Int, _ body: (_ worker: Int, _ index: Int) -> Void) {
    let workers = min(workers, count)
    if workers <= 1 {
        for i in 0..<count { body(0, i) }
        return
    }
    var next: Int64 = 0
    withUnsafeMutablePointer(to: &next) { next in
        // Shared by the workers; only touched through srgnn_take_next's atomic add.
        nonisolated(unsafe) let next = next
        runWorkers(workers) { worker in
            while true {
                let index = Int(srgnn_take_next(next))
                guard index < count else { return }
                body(worker, index)
            }
        }
    }
}

/// Multiply-adds below which a product (`gemm(threads:)`) or a pair of them (`parallelPair`)
/// stays on the calling thread: a hand-off to a worker would cost more than it saves.
public let minimumParallelWork = 1 << 20

/// Runs `first` and `second` at once, one per worker: for independent work such as a layer's
/// weight gradient and its input gradient, each of which then runs whole on one thread, with no
/// split of its product and no wait between the two. `work` is the multiply-adds of the larger
/// one; under `minimumParallelWork`, or with `threads < 2`, both run here, one after the other.
@inlinable
public func parallelPair(threads: Int, work: Int, _ first: () -> Void, _ second: () -> Void) {
    guard threads >= 2, work >= minimumParallelWork else {
        first()
        second()
        return
    }
    runWorkers(2) { worker in worker == 0 ? first() : second() }
}

/// Runs `body(worker)` for every worker in `0..<workers` at once and returns when all are done:
/// on the spinning pool of `srgnn_parallel_run` (a hand-off there takes well under a microsecond,
/// against ~50 µs for a sleeping dispatch worker, which is longer than most of the graph
/// network's products), or on Dispatch when the pool is busy (another caller, or a region inside
/// a region).
@usableFromInline
func runWorkers(_ workers: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { escapable in
        // Workers touch disjoint memory by contract; the closure itself is only read.
        nonisolated(unsafe) var body = escapable
        let ran = withUnsafeMutablePointer(to: &body) { pointer in
            srgnn_parallel_run(
                Int32(workers),
                { context, worker in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(worker))
                }, pointer)
        }
        if ran == 0 {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in body(worker) }
        }
    }
}
