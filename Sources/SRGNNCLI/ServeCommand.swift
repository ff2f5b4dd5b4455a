import ArgumentParser
import Evaluation
import Foundation
import Logging
import Serving
import SRGNN
import TensorCore

/// `srgnn serve`: the HTTP recommendation service (Hummingbird 2).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve recommendations for live sessions over HTTP.",
        discussion: """
            Routes: POST /v1/recommendations {"items": [...], "k": 20, "exclude_seen": false}; \
            POST /v1/recommendations/batch {"sessions": [{"items": [...]}, …], "k": 20}; \
            GET /health, GET /ready, GET /v1/model, GET /metrics (Prometheus). Item ids are your raw ids, \
            as in the click log (strings or integers). MODEL is a checkpoint from srgnn train, or a bare \
            official weights file (then --step and --nonhybrid say how it was trained). SIGTERM or SIGINT \
            stops the server after the requests in flight are answered.

            Hot reload: SIGHUP reloads MODEL's path (and reopens --events-log); POST /v1/admin/reload reloads it too, or loads the \
            file named in {"model": "PATH"}. The new file is read, checked and warmed up in the \
            background, then swapped in at once: requests in flight finish on the old model, new ones \
            get the new one. A file that cannot be served (missing, corrupt, wrong shapes, not a \
            checkpoint, or one knowing under --min-reload-overlap of the served model's items or of the \
            catalog's rows, unless the body says "force": true) is refused (422 naming the file and the \
            reason), logged and counted in /metrics \
            (srgnn_model_reload_failures_total); the old model keeps serving. Reloads run one at a time. \
            Admin routes need --admin-token-file: a file holding a token (surrounding whitespace and the \
            trailing newline are dropped), sent as Authorization: Bearer TOKEN (401 without it); without \
            the option they answer 403 admin_disabled. SIGHUP needs no token.

            Item rules, per session: "exclude": [ids], "filter": {"attribute": [values]} (needs \
            --catalog; values are strings or numbers, compared as text, a number in its shortest form: \
            2 and 2.0 match a catalog's 2), "include_unavailable": true, "candidates": [ids] (rank only \
            these). Unknown fields are ignored. A session \
            the model cannot embed (empty, or only unknown items) is answered with the checkpoint's \
            recent most clicked items, rules applied, marked "fallback": "popularity" (--fallback none: \
            422). --catalog is read again on every reload; a bad catalog is refused like a bad model.

            A/B variants: --model a=A.safetensors --model b=B.safetensors --split a=90,b=10 serves \
            both (names: 1-32 characters of A-Z a-z 0-9 _ -; without --split, equal shares; a lone \
            --model PATH is the variant "default"). A request picks its variant with "model": "b", or \
            with "session_id": "…" (a stable hash: the same id gets the same variant on every restart \
            and replica with the same split; in a batch, per session), else at random by the split. \
            Every answer carries "model" and "recommendation_id"; POST /v1/events \
            {"recommendation_id": "…", "item": ID, "type": "click"|"purchase"} credits it to the \
            variant, counted in /metrics (srgnn_variant_recommendations_total, \
            srgnn_variant_events_total) and, with --events-log, appended to that file as JSON lines. \
            That log also gets an "impression" line per answered session (batched) and a "start" \
            line with the split at start and after each reload: srgnn ab-report reads it. \
            Recommendation ids are signed (HMAC-SHA256, key from --events-key-file or generated at \
            start); unsigned or foreign ids are refused (400). At most --max-events-per-second events \
            are taken (429 with Retry-After beyond), and a line is at most 2 KiB, so the log grows by \
            at most their product per second. \
            GET /v1/models lists the variants. SIGHUP reloads every variant from its own path; \
            POST /v1/admin/reload {"variant": "b", "model": "PATH"} reloads one.
            """
    )

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Checkpoint, or a bare weights file (safetensors, official SR-GNN tensor names); NAME=PATH, repeated, serves A/B variants.",
            valueName: "path"))
    var model: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Traffic weights of the variants, e.g. a=90,b=10 (non-negative integers); default: equal shares.", valueName: "weights"))
    var split: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File that POST /v1/events appends one JSON line per event to (created if missing, never truncated; reopened on SIGHUP and when deleted or renamed).",
            valueName: "path"))
    var eventsLog: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File holding the key (at least 16 bytes) that signs recommendation ids; without it a key is generated at start, and ids issued before a restart are refused by POST /v1/events.",
            valueName: "path"))
    var eventsKeyFile: String?

    @OptionGroup var serving: ServingOptions

    @OptionGroup var session: SessionLengthOption

    @OptionGroup var architecture: ArchitectureOptions

    @OptionGroup var catalog: CatalogOptions

    @OptionGroup var retrieval: RetrievalOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File holding the token for the admin routes (POST /v1/admin/reload); without it they are disabled.", valueName: "path"))
    var adminTokenFile: String?

    func validate() throws {
        do { _ = try VariantSplit.fromCommandLine(models: model, split: split) } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        var log = Logger(label: "srgnn.serve")
        log.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let logger = log
        // Each inference thread runs single-threaded BLAS: OpenBLAS's own threads would compete
        // with ours (and serialise concurrent callers) for the same cores.
        setBLASThreads(1)
        // SIGHUP means "reload" here, never "end": its default action would end the process if it
        // came while the model loads, before the reload service listens for it.
        ignoreHangup()
        let adminToken: AdminToken?
        do {
            adminToken = try adminTokenFile.map { try AdminToken(contentsOfFile: $0) }
        } catch {
            throw CommandError("cannot serve: \(error)")
        }
        // Opened before the models load, so that a bad path stops the server at once.
        let events: EventsLog?
        do {
            events = try eventsLog.map { try EventsLog(path: $0, logger: logger) }
        } catch {
            throw CommandError("cannot serve: \(error)")
        }
        let signer: RecommendationIDSigner
        do {
            signer = try eventsKeyFile.map { try RecommendationIDSigner(contentsOfFile: $0) } ?? .generated()
        } catch {
            throw CommandError("cannot serve: \(error)")
        }
        let serving = self.serving.configuration
        let loader = ModelLoader(
            propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid,
            maxSessionLength: session.maxSessionLength, warmUpSessions: serving.maxCoalescedSessions,
            catalogPath: catalog.catalog, fallback: catalog.fallback, retrieval: retrieval.value)
        let (split, paths) = try VariantSplit.fromCommandLine(models: model, split: self.split)
        var models = [ServedModel]()
        for (name, path) in zip(split.names, paths) {
            let served: ServedModel
            do {
                served = try loader.load(path)
            } catch {
                throw CommandError("cannot serve: \(error)")
            }
            if let loaded = served.recommender.loaded { reportLoaded(loaded, path: path) }
            logger.info(
                "loaded \(name): \(served.summary) in \(String(format: "%.3f", served.loadSeconds ?? 0)) s; retrieval \(retrieval.value)")
            models.append(served)
        }
        if split.names.count > 1 {
            logger.info(
                "A/B split: \(split.names.indices.map { "\(split.names[$0]) \(split.weights[$0]) (\(String(format: "%.1f", 100 * split.share($0))) %)" }.joined(separator: ", "))"
            )
        }
        let registry = ModelRegistry(
            split: split, models: models, loader: loader, logger: logger, minimumOverlap: serving.minReloadOverlap, signer: signer)
        let app = try buildApplication(
            configuration: serving, registry: registry, adminToken: adminToken, reloadOnHangup: true, eventsLog: events,
            logger: logger
        ) { address in
            logger.info(
                signer.isGenerated
                    ? "recommendation ids are signed with a key generated at start: ids issued before a restart will be refused by POST /v1/events (give --events-key-file to keep them valid)"
                    : "recommendation ids are signed with the key of --events-key-file")
            logger.info(
                "listening on http://\(address) with \(serving.inferenceThreads) inference thread\(serving.inferenceThreads == 1 ? "" : "s"); SIGTERM or SIGINT stops it gracefully, SIGHUP reloads the model\(split.names.count == 1 ? "" : "s"); admin routes \(adminToken == nil ? "disabled (no --admin-token-file)" : "enabled"); events \(events.map { "appended to \($0.path)" } ?? "counted only (no --events-log)")"
            )
        }
        do {
            try await app.runService()
        } catch {
            await events?.flush()
            throw CommandError("cannot serve on \(serving.host):\(serving.port): \(error)")
        }
        // The impressions still queued: every request has been answered by now.
        await events?.flush()
        logger.info("stopped")
    }
}

/// The flags of a `ServingConfiguration`; each default is the configuration's own.
struct ServingOptions: ParsableArguments {
    private static let defaults = ServingConfiguration()

    @Option(name: .long, help: "Address to listen on (0.0.0.0 for every interface).")
    var host = Self.defaults.host

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port = Self.defaults.port

    @Option(name: .long, help: "Most sessions in one batch request (more is answered with 413).")
    var maxBatch = Self.defaults.maxBatch

    @Option(name: .long, help: "Largest request body in bytes (more is answered with 413).")
    var maxBodySize = Self.defaults.maxBodyBytes

    @Option(name: .long, help: "Threads that run the model; the default is half the cores, at least 1.")
    var inferenceThreads = Self.defaults.inferenceThreads

    @Option(name: .long, help: "Most sessions of concurrent requests scored together in one pass of the model.")
    var maxCoalesced = Self.defaults.maxCoalescedSessions

    @Option(name: .long, help: "Seconds a connection may stay open without sending a request before it is closed.")
    var idleTimeout = Self.seconds(Self.defaults.idleTimeout)

    @Option(
        name: .long,
        help:
            "Seconds from a request's first byte to its last (head and body); a request still incomplete then is dropped with its connection."
    )
    var requestTimeout = Self.seconds(Self.defaults.requestReadTimeout)

    @Option(name: .long, help: "Most connections open at once; more wait in the kernel's accept queue.")
    var maxConnections = Self.defaults.maxConnections

    @Option(name: .long, help: "Most connections open at once from one client address; more are closed at once.")
    var maxConnectionsPerClient = Self.defaults.maxConnectionsPerClient

    @Option(name: .long, help: "Most events POST /v1/events takes per second (429 beyond); bounds the events log's growth.")
    var maxEventsPerSecond = Self.defaults.maxEventsPerSecond

    @Option(
        name: .long,
        help:
            "Least share (0...1) of the served model's items, and of the catalog's rows, a reloaded model must know unless the reload is forced."
    )
    var minReloadOverlap = Self.defaults.minReloadOverlap

    var configuration: ServingConfiguration {
        var configuration = Self.defaults
        configuration.host = host
        configuration.port = port
        configuration.maxBatch = maxBatch
        configuration.maxBodyBytes = maxBodySize
        configuration.inferenceThreads = inferenceThreads
        configuration.maxCoalescedSessions = maxCoalesced
        configuration.idleTimeout = Self.duration(idleTimeout)
        configuration.requestReadTimeout = Self.duration(requestTimeout)
        configuration.maxConnections = maxConnections
        configuration.maxConnectionsPerClient = maxConnectionsPerClient
        configuration.maxEventsPerSecond = maxEventsPerSecond
        configuration.minReloadOverlap = minReloadOverlap
        return configuration
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// `seconds` to the millisecond; NaN and negative values become 0 (refused by `validate()`).
    private static func duration(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .milliseconds(Int64(min(seconds, 1e9) * 1000))
    }

    func validate() throws {
        do { try configuration.validate() } catch { throw ValidationError("\(error)") }
    }
}
