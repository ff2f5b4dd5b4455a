import Foundation
import SRGNN

/// How the recommendation service runs. One value behind `srgnn serve` and the tests; `validate()`
/// rejects bad combinations with a message that names the option.
public struct ServingConfiguration: Sendable, Equatable {
    /// Address to bind: `127.0.0.1` (loopback, the default) or `0.0.0.0` for every interface.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one.
    public var port: Int = 8080
    /// Most sessions in one `POST /v1/recommendations/batch` request (more → 413).
    public var maxBatch: Int = 100
    /// Largest request body in bytes (more → 413). Default 1 MiB.
    public var maxBodyBytes: Int = 1 << 20
    /// Largest `k` a request may ask for.
    public var maxK: Int = 1000
    /// Most ids in one session's `exclude` or `candidates`, and most values in its `filter` (more →
    /// 413): they are checked one by one against the vocabulary, so they are bounded like `k`.
    public var maxRuleItems: Int = 10_000
    /// Threads that run the model, off the event loop. Default: half the cores (1 on 2 cores): a
    /// pass is bound by streaming the item embedding from memory, so one thread running large
    /// coalesced batches beats two running small ones, and it leaves a core for HTTP.
    public var inferenceThreads: Int = ServingConfiguration.defaultInferenceThreads
    /// Most sessions scored in one pass of the model: concurrent requests waiting for a thread are
    /// scored together, so the item embedding is read once for all of them (`[B, d] × [d, I]`
    /// instead of B matrix-vector products).
    public var maxCoalescedSessions: Int = 64
    /// Longest a connection may stay open without sending a request (between requests, or before
    /// the first): then it is closed. Default 30 s.
    public var idleTimeout: Duration = .seconds(30)
    /// Longest from the first byte of a request to its last (head and body): a request still
    /// incomplete then is dropped and its connection closed, so a client that trickles bytes
    /// (slowloris) holds a socket this long at most. Default 10 s.
    public var requestReadTimeout: Duration = .seconds(10)
    /// Most connections open at once; over it, new connections wait in the kernel's accept queue
    /// until one closes. Default 2048 (under the usual limit of open files per process).
    public var maxConnections: Int = 2048
    /// Most connections open at once from one client address: beyond it a new one is closed at
    /// once, so that one client's idle sockets cannot take all of `maxConnections` (clients behind
    /// one proxy or NAT share it). Default 128.
    public var maxConnectionsPerClient: Int = 128
    /// Most events `POST /v1/events` takes per second, over every client (a token bucket, bursts up
    /// to one second's worth): beyond it, 429 with `Retry-After`. With a line of the events log at
    /// most `EventsLog.maximumLineBytes`, the log grows by at most their product per second.
    public var maxEventsPerSecond: Int = 1000
    /// Least share of the served model's items a reloaded model must know, and of the catalog's
    /// rows, unless the reload says `"force": true`: a model sharing few items with the old one or
    /// the catalog would answer most sessions and filters with nothing. Default 0.5.
    public var minReloadOverlap: Double = 0.5

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBatch: Int = 100, maxBodyBytes: Int = 1 << 20,
        maxK: Int = 1000, inferenceThreads: Int = ServingConfiguration.defaultInferenceThreads,
        maxCoalescedSessions: Int = 64, idleTimeout: Duration = .seconds(30),
        requestReadTimeout: Duration = .seconds(10), maxConnections: Int = 2048, maxRuleItems: Int = 10_000
    ) {
        self.host = host
        self.port = port
        self.maxBatch = maxBatch
        self.maxBodyBytes = maxBodyBytes
        self.maxK = maxK
        self.inferenceThreads = inferenceThreads
        self.maxCoalescedSessions = maxCoalescedSessions
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
        self.maxConnections = maxConnections
        self.maxRuleItems = maxRuleItems
    }

    public static let defaultInferenceThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)

    public func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw ServingConfigurationError(description: message) }
        }
        try check((0...65535).contains(port), "--port must be in 0...65535, got \(port)")
        try check(maxBatch >= 1, "--max-batch must be at least 1, got \(maxBatch)")
        try check(maxBodyBytes >= 64, "--max-body-size must be at least 64 bytes, got \(maxBodyBytes)")
        try check(maxK >= 1, "the largest k must be at least 1, got \(maxK)")
        try check(maxRuleItems >= 1, "the most ids in exclude or candidates must be at least 1, got \(maxRuleItems)")
        try check(inferenceThreads >= 1, "--inference-threads must be at least 1, got \(inferenceThreads)")
        try check(maxCoalescedSessions >= 1, "--max-coalesced must be at least 1, got \(maxCoalescedSessions)")
        try check(idleTimeout >= .milliseconds(1), "--idle-timeout must be at least 0.001 seconds, got \(idleTimeout)")
        try check(
            requestReadTimeout >= .milliseconds(1),
            "--request-timeout must be at least 0.001 seconds, got \(requestReadTimeout)")
        try check(maxConnections >= 1, "--max-connections must be at least 1, got \(maxConnections)")
        try check(maxConnectionsPerClient >= 1, "--max-connections-per-client must be at least 1, got \(maxConnectionsPerClient)")
        try check(maxEventsPerSecond >= 1, "--max-events-per-second must be at least 1, got \(maxEventsPerSecond)")
        try check((0...1).contains(minReloadOverlap), "--min-reload-overlap must be in 0...1, got \(minReloadOverlap)")
    }
}

/// A service that cannot start as given: a bad `ServingConfiguration`, admin token or token file,
/// events key or key file, or `--model` / `--split` (`VariantSplit`). The description names the
/// option or file and the fix. (Errors met while running are `ServingError`s.)
public struct ServingConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(description: String) { self.description = description }
    init(_ description: String) { self.description = description }
}
