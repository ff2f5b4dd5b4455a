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
    withoutActuallyEscaping(body) { escapable in
        // Workers touch disjoint memory by contract; the closure itself is only read.
        nonisolated(unsafe) let body = escapable
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = count * worker / workers
            let end = count * (worker + 1) / workers
            for i in start..<end { body(i) }
        }
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
    withoutActuallyEscaping(body) { escapable in
        // Workers touch disjoint memory by contract; the closure itself is only read.
        nonisolated(unsafe) let body = escapable
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            body((count * worker / workers)..<(count * (worker + 1) / workers))
        }
    }
}
