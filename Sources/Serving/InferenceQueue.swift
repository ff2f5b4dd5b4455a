import Foundation
import Recommending
import ServiceLifecycle
import SRGNN

/// Runs the model on threads of its own, off the event loop and off Swift's cooperative pool (a
/// forward pass is milliseconds of blocking BLAS work).
///
/// Requests wait in one queue; a free thread takes every waiting session up to
/// `maxCoalescedSessions` and scores them as one batch, so under load the item embedding
/// (`[I, d]`, 17 MB for Diginetica) is streamed once per batch instead of once per request.
/// A coalesced session gets the same scores, bit for bit, as alone (`srgnn recommend`): the
/// recommender's kernels compute each score the same way whatever the number of rows (under
/// `SRGNN_KERNEL=blas` they may differ in the last float32 bits).
///
/// The threads end after `shutdown()` (which `run()` calls once graceful shutdown begins) has let
/// them answer everything queued, or when the queue is released: they hold only the shared state,
/// never the queue, so dropping the last reference stops them.
public final class InferenceQueue: Service, Sendable {
    /// The variant whose model scores a `recommend` given none (a reload swaps it).
    public let models: ModelRegistry.Variant
    private let state: State

    /// Starts `threads` inference threads named `<threadName>-<index>` (Linux keeps 15 characters);
    /// `onBatch` hears, from those threads, the number of sessions of every pass.
    public init(
        models: ModelRegistry.Variant, threads: Int, maxCoalescedSessions: Int, threadName: String = "srgnn-infer",
        onBatch: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        precondition(threads >= 1 && maxCoalescedSessions >= 1)
        self.models = models
        let state = State(running: threads)
        self.state = state
        for index in 0..<threads {
            let name = "\(threadName)-\(index)"
            let thread = Thread { @Sendable in
                nameOSThread(name)
                state.work(maxCoalescedSessions: maxCoalescedSessions, onBatch: onBatch)
            }
            thread.name = name
            thread.start()
        }
    }

    /// A queue over one fixed recommender (no file behind it).
    public convenience init(
        recommender: Recommender, threads: Int, maxCoalescedSessions: Int, threadName: String = "srgnn-infer",
        onBatch: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.init(
            models: ModelRegistry(models: [ServedModel(recommender: recommender)]).all[0], threads: threads,
            maxCoalescedSessions: maxCoalescedSessions, threadName: threadName, onBatch: onBatch)
    }

    deinit {
        // Nothing can be waiting (a caller of `recommend` holds the queue), so the threads end at once.
        state.stop(then: nil)
    }

    /// `true` until shutdown begins; `GET /ready` reports it.
    public var isAccepting: Bool { state.condition.withLock { state.accepting } }

    /// Inference threads that have not yet ended.
    public var runningThreads: Int { state.condition.withLock { state.running } }

    /// The answers for `queries` (already validated against `model`), scored by `model` (default:
    /// the current one) on an inference thread. Refused with `ServingError.shuttingDown` once every
    /// thread has ended.
    public func recommend(_ queries: [RecommendationQuery], on model: ServedModel? = nil) async throws -> [RecommendationResult] {
        let model = model ?? models.served
        return try await withCheckedThrowingContinuation { continuation in
            state.condition.lock()
            guard state.accepting || state.running > 0 else {
                state.condition.unlock()
                continuation.resume(throwing: ServingError.shuttingDown)
                return
            }
            state.pending.append(Job(model: model, queries: queries, continuation: continuation))
            state.condition.signal()
            state.condition.unlock()
        }
    }

    /// Waits for graceful shutdown (or cancellation), then lets the threads finish the queue and end.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops taking new work once the queue is empty; returns when every thread has finished it.
    /// Suspends rather than blocks: the last thread to end resumes the caller.
    public func shutdown() async {
        await withCheckedContinuation { continuation in
            state.stop(then: continuation)
        }
    }
}

/// Names the calling thread for the OS (top -H, profilers, /proc). On Linux, Foundation's
/// `Thread.name` does not reliably reach the OS thread, so the thread writes its own `comm`.
private func nameOSThread(_ name: String) {
    #if os(Linux)
    guard let comm = FileHandle(forWritingAtPath: "/proc/thread-self/comm") else { return }
    defer { try? comm.close() }
    try? comm.write(contentsOf: Data(name.utf8.prefix(15)))
    #endif
}

private struct Job {
    /// The model the request started with: it answers on that one even if a reload came since.
    var model: ServedModel
    var queries: [RecommendationQuery]
    var continuation: CheckedContinuation<[RecommendationResult], any Error>
}

/// What the queue and its threads share.
private final class State: @unchecked Sendable {
    // @unchecked: every `var` is only touched while holding `condition`.
    let condition = NSCondition()
    var pending: [Job] = []
    var accepting = true
    var running: Int
    /// `shutdown()` callers, resumed when `running` reaches 0.
    var stopped: [CheckedContinuation<Void, Never>] = []

    init(running: Int) { self.running = running }

    /// Stops accepting; `continuation` (if any) is resumed once every thread has ended.
    func stop(then continuation: CheckedContinuation<Void, Never>?) {
        condition.lock()
        accepting = false
        condition.broadcast()
        guard let continuation else { condition.unlock(); return }
        if running == 0 {
            condition.unlock()
            continuation.resume()
        } else {
            stopped.append(continuation)
            condition.unlock()
        }
    }

    /// One inference thread: takes jobs until the queue is empty and no longer accepting.
    func work(maxCoalescedSessions: Int, onBatch: @Sendable (Int) -> Void) {
        while true {
            condition.lock()
            while pending.isEmpty && accepting { condition.wait() }
            if pending.isEmpty {
                running -= 1
                let waiters = running == 0 ? stopped : []
                if running == 0 { stopped = [] }
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            // Take whole jobs for the same model while they fit; always at least one.
            var jobs = [pending.removeFirst()]
            let recommender = jobs[0].model.recommender
            var sessions = jobs[0].queries.count
            while let next = pending.first, next.model === jobs[0].model, sessions + next.queries.count <= maxCoalescedSessions {
                jobs.append(pending.removeFirst())
                sessions += next.queries.count
            }
            condition.unlock()

            onBatch(sessions)
            do {
                let results = try recommender.recommend(jobs.flatMap(\.queries))
                var start = 0
                for job in jobs {
                    job.continuation.resume(returning: Array(results[start..<(start + job.queries.count)]))
                    start += job.queries.count
                }
            } catch {
                // Queries are validated before they are queued, so this is unexpected; answer each
                // job on its own so that one bad query fails only its own request.
                for job in jobs {
                    do { job.continuation.resume(returning: try recommender.recommend(job.queries)) } catch {
                        job.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}
