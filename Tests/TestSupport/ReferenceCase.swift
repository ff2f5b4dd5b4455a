import Foundation

/// One case of `Tests/Fixtures/reference`: the JSON description (batch, settings, losses,
/// top-20) of a run of the official PyTorch code; its tensors live in the `.safetensors` beside it.
public struct ReferenceCase: Sendable, CustomStringConvertible {
    public var name: String
    public var sessions: [[Int32]]
    public var targets: [Int32]
    public var embeddingRows: Int
    public var hiddenSize: Int
    public var step: Int
    public var nonhybrid: Bool
    public var learningRate: Float
    public var weightDecay: Float
    public var lossPerStep: [Double]
    public var top20: [[Int]]
    public var weightsPath: String

    public var description: String { name }

    /// Every case in the fixtures folder (empty when the folder is absent).
    public static func all() -> [ReferenceCase] {
        let folder = SharedPaths.referenceFixtures
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { file in
            let url = folder.appendingPathComponent(file)
            guard let data = try? Data(contentsOf: url),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return nil }
            func ints(_ value: Any?) -> [Int] { (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue } }
            let name = String(file.dropLast(5))
            return ReferenceCase(
                name: name,
                sessions: (object["sessions"] as? [Any] ?? []).map { ints($0).map(Int32.init) },
                targets: ints(object["targets"]).map(Int32.init),
                embeddingRows: (object["n_node"] as? NSNumber)?.intValue ?? 0,
                hiddenSize: (object["hidden_size"] as? NSNumber)?.intValue ?? 0,
                step: (object["step"] as? NSNumber)?.intValue ?? 1,
                nonhybrid: (object["nonhybrid"] as? Bool) ?? false,
                learningRate: (object["lr"] as? NSNumber)?.floatValue ?? 0,
                weightDecay: (object["l2"] as? NSNumber)?.floatValue ?? 0,
                lossPerStep: (object["loss_per_step"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue },
                top20: (object["top20_item_indices_minus_1"] as? [Any] ?? []).map { ints($0) },
                weightsPath: folder.appendingPathComponent(name + ".safetensors").path
            )
        }
    }
}
