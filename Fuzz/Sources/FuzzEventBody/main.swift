import Foundation
import FuzzSupport
import Hummingbird
import Logging
@testable import Serving
import Recommending
import SRGNN

/// What `POST /v1/events` does with a body, without the socket: decode, check the signed id, the
/// item and the type, and write the events log's line. `$ID` in the input becomes an id this
/// service signed, so that inputs get past the signature. Bad bodies must end in a
/// `ServingError` (a 4xx), never a crash; every line must stay within `EventsLog.maximumLineBytes`.
let variants: ModelRegistry = {
    let model = try! SRGNNModel(configuration: SRGNNConfiguration(itemCount: 20, hiddenSize: 4), seed: 1)
    let path = Scratch.folder + "/events-model.safetensors"
    try! model.saveWeights(to: path)
    let served = ServedModel(recommender: try! Recommender(contentsOf: path))
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    let split = try! VariantSplit(names: ["a", "b"])
    return ModelRegistry(
        split: split, models: [served, served], logger: logger,
        signer: try! RecommendationIDSigner(key: Array("fuzz-events-key-of-32-bytes-long".utf8)))
}()
let signedID = Array(variants.all[0].makeRecommendationID().utf8)
let placeholder = Array("$ID".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventBody(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    // Each `$ID` becomes a signed id (at most 64 of them, so the body stays bounded).
    var index = 0, replaced = 0
    while index + placeholder.count <= bytes.count, replaced < 64 {
        if bytes[index..<(index + placeholder.count)].elementsEqual(placeholder) {
            bytes.replaceSubrange(index..<(index + placeholder.count), with: signedID)
            index += signedID.count
            replaced += 1
        } else {
            index += 1
        }
    }
    do {
        let event = try CheckedEvent(body: ByteBuffer(bytes: bytes), variants: variants, example: "{}")
        let line = try JSONText.data(event.record(at: Date())) + [0x0a]
        precondition(line.count <= EventsLog.maximumLineBytes, "an events log line of \(line.count) bytes")
    } catch is ServingError {
    } catch {
        fatalError("an event body ended in an error that is not a 4xx: \(error)")
    }
    return 0
}
