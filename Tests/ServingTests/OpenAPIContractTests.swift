import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Serving
import Testing
import TestSupport

/// openapi.yaml is the service's contract: served as is, and naming exactly the routes the router
/// has. (Answers against its schemas are checked by schemathesis on a live server: scripts/api-check.sh.)
@Suite struct OpenAPIContractTests {
    static let documentPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("openapi.yaml").path

    /// (method, path) of every operation in the document, read from its `paths:` block: a path is
    /// a two-space-indented key starting with "/", an operation a four-space-indented method key.
    static func operations(in yaml: String) -> Set<String> {
        var operations = Set<String>(), path: String?, inPaths = false
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") { inPaths = line == "paths:"; path = nil; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let key = line.trimmingCharacters(in: .whitespaces)
                for method in ["get:", "post:", "put:", "delete:", "patch:"] where key == method {
                    operations.insert("\(method.dropLast().uppercased()) \(path)")
                }
            }
        }
        return operations
    }

    @Test func theEmbeddedDocumentIsOpenapiYaml() throws {
        let file = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        #expect(OpenAPIDocument.yaml + "\n" == file, "the embedded document differs from openapi.yaml")
    }

    @Test func theDocumentNamesEveryRouteAndNoOther() throws {
        let documented = Self.operations(in: OpenAPIDocument.yaml)
        let routed = Set(ServiceRoutes.all.map { "\($0.method.rawValue) \($0.path)" })
        #expect(documented.count >= 10, "the parser found \(documented.count) operations")
        #expect(
            documented == routed,
            "only in the document: \(documented.subtracting(routed).sorted()); only routed: \(routed.subtracting(documented).sorted())")
    }

    /// The route table drives the router: every route of `ServiceRoutes.all` is answered by a
    /// handler under its method (never the 404 or 405 of a route the router lacks), and its
    /// requests are counted under the route's own path.
    @Test func theRouterServesEveryRouteOfTheTable() async throws {
        try await Fixture.app().test(.router) { client in
            for route in ServiceRoutes.all {
                let response = try await client.execute(uri: route.path, method: route.method, body: ByteBuffer(string: "{}"))
                #expect(
                    response.status != .notFound && response.status != .methodNotAllowed,
                    "\(route.method) \(route.path) answered \(response.status)")
            }
            let metrics = try await client.get("/metrics").text
            for route in ServiceRoutes.all {
                #expect(metrics.contains("route=\"\(route.path)\""), "no request counted under \(route.path)")
            }
        }
    }

    @Test func getOpenapiYamlServesTheDocument() async throws {
        try await Fixture.app().test(.router) { client in
            let response = try await client.get("/openapi.yaml")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
            #expect(response.text == OpenAPIDocument.yaml + "\n")
            #expect(response.text.hasPrefix("openapi: 3."))
        }
    }
}

/// One error type for the running service (`ServingError`) and one for a bad start
/// (`ServingConfigurationError`), each describing itself in the words the former error types used.
@Suite struct ErrorKindTests {
    /// A `ServingError` that is not a refused request (a file, the events log, a reload refused)
    /// reaching the error middleware is the server's failure: a logged 500 that says nothing of
    /// the file, as for any other error; a refused request keeps its own answer.
    @Test func onlyRefusedRequestsAreAnsweredInTheirOwnWords() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
        router.get("/file") { _, _ -> Response in throw ServingError.file("the catalog /secret/catalog.csv is a FIFO") }
        router.get("/refused") { _, _ -> Response in throw ServingError(.badRequest, code: "invalid_k", message: "k") }
        try await Application(router: router).test(.router) { client in
            let file = try await client.get("/file")
            #expect(file.status == .internalServerError && file.errorCode == "internal_error")
            #expect(!file.text.contains("secret"))
            let refused = try await client.get("/refused")
            #expect(refused.status == .badRequest && refused.errorCode == "invalid_k")
        }
    }

    /// Folded errors describe themselves by their message alone, as the types they replace did
    /// (the CLI prints "cannot serve: <description>"); refused requests as `<status> <code>: <message>`.
    @Test func descriptionsKeepTheirWording() throws {
        #expect("\(ServingError.reloadRefused(path: "/m.safetensors", reason: "gone"))" == "cannot reload from /m.safetensors: gone")
        #expect("\(ServingError.reloadRefused(path: nil, reason: "no file"))" == "cannot reload: no file")
        #expect("\(ServingError.catalogRefused("c.csv line 3"))" == "the catalog is refused: c.csv line 3")
        #expect("\(ServingError(.badRequest, code: "invalid_k", message: "k"))" == "400 invalid_k: k")
        #expect(throws: ServingConfigurationError.self) { try VariantSplit(names: ["a", "a"]) }
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        do {
            _ = try EventsLog(path: folder.path)
            Issue.record("a folder was taken as the events log")
        } catch let error as ServingError {
            #expect(error.kind == .eventsLog && "\(error)".hasPrefix("cannot open the events log \(folder.path) for appending"))
        }
    }
}
