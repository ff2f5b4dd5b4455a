import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Serving
import Testing

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
