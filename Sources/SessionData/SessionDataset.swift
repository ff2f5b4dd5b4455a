/// A training-ready session dataset: training sessions and their next-item examples, test
/// examples, and the item vocabulary.
///
/// Items are `1...itemCount`; the embedding table has `itemCount + 1` rows (row 0 is padding).
public struct SessionDataset: Sendable, Equatable {
    public var trainSessions: SessionList
    /// Training examples: the prefix augmentation of `trainSessions` without its first
    /// `trainExampleSkip` examples (non-zero only for the reference's Yoochoose fractions), or an
    /// SR-GNN folder's `train.txt` as written.
    public var train: ExampleSet
    public var test: ExampleSet
    public var vocabulary: ItemVocabulary
    public var itemCount: Int
    /// Clicks in training sessions plus test sessions, when known.
    public var clickCount: Int?
    /// Leading examples of `augmenting(trainSessions)` that `train` leaves out.
    public var trainExampleSkip: Int
    /// `[trainSessions.count]` each training session's date in Unix seconds (its last click, or
    /// for Diginetica the `eventdate` of its last row), aligned with `trainSessions`; `nil` when
    /// unknown (SR-GNN pickle folders, folders written before the times were kept). Where it is
    /// `nil`, a session's position in `trainSessions` (date order) stands in for its time.
    public var trainSessionTimes: [Int64]?
    public init(
        trainSessions: SessionList, train: ExampleSet, test: ExampleSet, vocabulary: ItemVocabulary,
        itemCount: Int, clickCount: Int? = nil, trainExampleSkip: Int = 0, trainSessionTimes: [Int64]? = nil
    ) {
        precondition(trainSessionTimes.map { $0.count == trainSessions.count } ?? true, "one time per training session")
        self.trainSessions = trainSessions
        self.train = train
        self.test = test
        self.vocabulary = vocabulary
        self.itemCount = itemCount
        self.clickCount = clickCount
        self.trainExampleSkip = trainExampleSkip
        self.trainSessionTimes = trainSessionTimes
    }

    /// Rows of the item embedding table: `itemCount + 1`.
    public var embeddingRows: Int { itemCount + 1 }

    /// The same sessions and examples in `vocabulary`'s internal ids, or `nil` when `vocabulary`
    /// lacks one of this dataset's raw ids. The result's vocabulary and item count are
    /// `vocabulary`'s (a model's, which may know more items than this data has).
    public func remapped(to vocabulary: ItemVocabulary) -> SessionDataset? {
        if vocabulary == self.vocabulary { return self }
        var table = [Int32](repeating: 0, count: itemCount + 1)
        for id in stride(from: 1, through: itemCount, by: 1) {
            guard let mapped = vocabulary.internalID(of: self.vocabulary.rawID(of: Int32(id))) else { return nil }
            table[id] = mapped
        }
        func map(_ ids: inout [Int32]) { for i in ids.indices { ids[i] = table[Int(ids[i])] } }
        var result = self
        map(&result.trainSessions.items)
        map(&result.train.items)
        map(&result.train.targets)
        map(&result.test.items)
        map(&result.test.targets)
        result.vocabulary = vocabulary
        result.itemCount = vocabulary.count
        return result
    }
}

/// The paper's Table 1 for one dataset.
public struct DatasetStatistics: Sendable, Codable, Equatable {
    /// Clicks in training and test sessions (test sessions recovered from the augmented test set).
    public var clicks: Int
    public var trainSessions: Int
    public var trainExamples: Int
    public var testSessions: Int
    public var testExamples: Int
    public var items: Int
    /// Clicks per session over training and test sessions (the reference's `avg length`).
    public var averageLength: Double

    private enum CodingKeys: String, CodingKey {
        case clicks
        case trainSessions = "train_sessions"
        case trainExamples = "train_examples"
        case testSessions = "test_sessions"
        case testExamples = "test_examples"
        case items
        case averageLength = "average_length"
    }

    public init(_ dataset: SessionDataset) {
        let testSessions = dataset.test.reconstructedSessions()
        let clicks = dataset.clickCount ?? (dataset.trainSessions.clickCount + testSessions.clickCount)
        self.clicks = clicks
        self.trainSessions = dataset.trainSessions.count
        self.trainExamples = dataset.train.count
        self.testSessions = testSessions.count
        self.testExamples = dataset.test.count
        self.items = dataset.itemCount
        let sessions = dataset.trainSessions.count + testSessions.count
        self.averageLength = sessions > 0 ? Double(clicks) / Double(sessions) : 0
    }
}
