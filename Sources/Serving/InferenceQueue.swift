import Foundation
import Logging
import ServiceLifecycle
import SRGNN

/// Runs the model on its own threads, off the event loop and off Swift's cooperative pool (a
/// forward pass is a few milliseconds of blocking BLAS work).
///
/// Requests wait in one queue; a free thread takes every waiting session up to
/// `maxCoalescedSessions` and scores them as one batch, so under load the item embedding
/// (`[I, d]`, 17 MB for Diginetica) is streamed once per batch instead of once per request.
/// Under light load a batch is a single request and nothing waits for company.
///
/// A coalesced session's scores can differ from the same session scored alone (as
/// `srgnn recommend` does) in the last float32 bits (BLAS blocks a 1-row and a 20-row product
/// differently); the ranking is the same but for exact near-ties. `maxCoalescedSessions = 1`
/// makes every answer bit-identical to `srgnn recommend`, at about a sixth of the throughput.
///
/// As a `Service` it stops after graceful shutdown begins: it keeps answering what is queued
/// (the HTTP server, shut down first, drains requests in flight) and then its threads end.
public final class InferenceQueue: Service, @unchecked Sendable {
    // @unchecked: `pending`, `accepting` and `running` are only touched while holding `condition`.
    private struct Job {
        var queries: [RecommendationQuery]
        var continuation: CheckedContinuation<[RecommendationResult], any Error>
    }

    public let recommender: Recommender
    private let maxCoalescedSessions: Int
    private let onBatch: @Sendable (Int) -> Void
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var accepting = true
    private var running: Int

    /// Starts `threads` inference threads; `onBatch` hears the number of sessions of every pass.
    public init(recommender: Recommender, threads: Int, maxCoalescedSessions: Int,
                onBatch: @escaping @Sendable (Int) -> Void = { _ in }) {
        precondition(threads >= 1 && maxCoalescedSessions >= 1)
        self.recommender = recommender
        self.onBatch = onBatch
        self.maxCoalescedSessions = maxCoalescedSessions
        self.running = threads
        for index in 0..<threads {
            let thread = Thread { [self] in
                Thread.current.name = "srgnn-infer-\(index)"  // names the OS thread (top -H, profilers)
                work()
            }
            thread.start()
        }
    }

    /// `true` until shutdown begins; `GET /ready` reports it.
    public var isAccepting: Bool { condition.withLock { accepting } }

    /// The answers for `queries` (already validated), scored on an inference thread.
    public func recommend(_ queries: [RecommendationQuery]) async throws -> [RecommendationResult] {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            guard accepting || running > 0 else {
                condition.unlock()
                continuation.resume(throwing: ServingError.shuttingDown)
                return
            }
            pending.append(Job(queries: queries, continuation: continuation))
            condition.signal()
            condition.unlock()
        }
    }

    /// Waits for graceful shutdown, then lets the threads finish the queue and end.
    public func run() async throws {
        try await gracefulShutdown()
        shutdown()
    }

    /// Stops taking new work once the queue is empty; returns when every thread has ended.
    public func shutdown() {
        condition.lock()
        accepting = false
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while pending.isEmpty && accepting { condition.wait() }
            if pending.isEmpty {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            // Take whole jobs while they fit; always at least one.
            var jobs = [pending.removeFirst()]
            var sessions = jobs[0].queries.count
            while let next = pending.first, sessions + next.queries.count <= maxCoalescedSessions {
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
                    do { job.continuation.resume(returning: try recommender.recommend(job.queries)) }
                    catch { job.continuation.resume(throwing: error) }
                }
            }
        }
    }
}
