import SessionData

/// Where JSON that failed to decode came from; it sets the wording of `describe(_:in:)`, each
/// front end keeping its own: the service answers a client's body ("send e.g. …"), `srgnn
/// recommend --input` reports a line of a file ("expected e.g. …").
public enum JSONInput: Sendable {
    /// An HTTP request body; the whole value is "the body", and every message ends with the example.
    case requestBody(example: String)
    /// One line of a JSON-lines file of sessions; messages about a field's value omit the example.
    case batchLine(example: String)
}

/// A decoding error in words, the one describer of both front ends: which field (a JSON path such
/// as `"sessions[2].items[0]"`), what was wrong, and what good input looks like.
public func describe(_ error: DecodingError, in input: JSONInput) -> String {
    let line: Bool, example: String
    switch input {
    case let .requestBody(text): (line, example) = (false, text)
    case let .batchLine(text): (line, example) = (true, text)
    }
    let hint = line ? "; expected e.g. \(example)" : "; send e.g. \(example)"
    func field(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return text.isEmpty && !line ? "the body" : "\"\(text)\""
    }
    switch error {
    case let .typeMismatch(type, context):
        if line && context.codingPath.isEmpty { return "the line is not a JSON object" + hint }
        if type == JSONItemID.self {
            if line { return "\(field(context.codingPath)) must be a string or an integer" }
            return "\(field(context.codingPath)) must be an item id (a string or an integer)" + hint
        }
        if line && context.codingPath.first?.stringValue == "items" {
            return "\(field(context.codingPath)) must be an array of item ids, e.g. \(example)"
        }
        // In a line, an item rule: exclude, filter, include_unavailable, candidates.
        return "\(field(context.codingPath)) has the wrong type (expected \(expectedName(type)))" + (line ? "" : hint)
    case let .valueNotFound(type, context):
        if line && type == JSONItemID.self { return "\(field(context.codingPath)) must be a string or an integer" }
        return "\(field(context.codingPath)) is null" + (line ? "" : " (expected \(expectedName(type)))") + hint
    case let .keyNotFound(key, context):
        return "\(field(context.codingPath + [key])) is missing" + hint
    case let .dataCorrupted(context):
        if context.codingPath.isEmpty { return (line ? "not valid JSON" : "the body is not valid JSON") + hint }
        return "\(field(context.codingPath)) is invalid (\(context.debugDescription))" + (line ? "" : hint)
    @unknown default:
        return (line ? "not of the expected form" : "the body does not have the expected form") + hint
    }
}

/// What a field of `type` should hold, in words ("an integer", "an array of item ids").
public func expectedName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is Int64.Type, is RequestedK.Type: return "an integer"
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    case is [JSONItemID].Type: return "an array of item ids"
    case is [BatchRecommendationRequest.Session].Type: return "an array of {\"items\": [...]} objects"
    case is Catalog.Scalar.Type: return "a string or a number"
    case is [Catalog.Scalar].Type: return "a list of strings or numbers"
    case is [String: [Catalog.Scalar]].Type: return "an object of attribute names to lists of values, e.g. {\"colour\": [\"red\"]}"
    default:
        let name = "\(type)"
        if name.hasPrefix("Array") { return "an array" }
        if name.hasPrefix("Dictionary") || name.contains("Request") || name.contains("Session") { return "an object" }
        return name
    }
}
