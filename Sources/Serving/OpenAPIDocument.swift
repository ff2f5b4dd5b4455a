/// The service's OpenAPI document (`Sources/Serving/openapi.yaml`, embedded by SwiftPM), answered
/// at `GET /openapi.yaml`.
enum OpenAPIDocument {
    static let yaml: String = {
        var text = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
        // The answer has always been the file without its final newline, plus one.
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }()
}
