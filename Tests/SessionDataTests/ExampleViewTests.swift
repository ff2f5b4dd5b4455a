import SessionData
import Testing

/// Issue 31 item 2: examples are (start, end) views of stored clicks, so memory is O(clicks).
@Suite struct ExampleViewTests {
    /// The reference's order (a session's prefixes longest first) shares one copy of the session;
    /// other prefixes are copied; the examples read back the same either way.
    @Test func appendSharesAPrefixOfThePreviousOne() {
        var set = ExampleSet()
        set.append(prefix: [4, 5, 6], target: 7)
        set.append(prefix: [4, 5], target: 6)
        set.append(prefix: [4], target: 5)
        #expect(set.items == [4, 5, 6, 7], "one session stored once, with its last target")
        set.append(prefix: [8, 9], target: 1)  // a new session
        set.append(prefix: [8, 2], target: 3)  // not a prefix of the previous one: copied
        #expect(set.items == [4, 5, 6, 7, 8, 9, 1, 8, 2, 3])
        #expect(set.prefixArrays == [[4, 5, 6], [4, 5], [4], [8, 9], [8, 2]])
        #expect(set.targets == [7, 6, 5, 1, 3])
        #expect(set.storedValues == 10 + 5)
        #expect(set == ExampleSet(prefixes: set.prefixArrays, targets: set.targets))
        #expect(set != ExampleSet(prefixes: [[4, 5, 6], [4, 5], [4], [8, 9], [8, 3]], targets: set.targets))
        #expect(set.sessionNumbers() == [0, 0, 0, 1, 2])
    }

    /// Augmentation views the sessions' own clicks: nothing is copied.
    @Test func augmentationViewsTheSessions() {
        let sessions = SessionList([[1, 2, 3, 4], [5], [6, 7]])
        let set = ExampleSet.augmenting(sessions)
        #expect(set.items == sessions.items)
        #expect(set.prefixArrays == [[1, 2, 3], [1, 2], [1], [6]])
        #expect(set.targets == [4, 3, 2, 7])
        let skipped = ExampleSet.augmenting(sessions, skippingFirst: 2)
        #expect(skipped.prefixArrays == [[1], [6]] && skipped.targets == [2, 7])
        #expect(set.reconstructedSessions() == SessionList([[1, 2, 3, 4], [6, 7]]))
    }

    /// A `train.txt` pickle in the reference's order is stored as its sessions' clicks plus labels.
    @Test func pickledExamplesAreViews() throws {
        var sessions = SessionList()
        for s in 0..<50 {
            let session: [Int32] = (0..<(2 + s % 9)).map { (k: Int) -> Int32 in Int32(1 + (k * 7 + s) % 40) }
            sessions.append(session)
        }
        let copied = ExampleSet.augmenting(sessions)
        let read = try Pickle.readExamples(Pickle.encode(copied), file: "train.txt")
        #expect(read == copied)
        let clicks = (0..<sessions.count).reduce(0) { $0 + sessions.length(of: $1) }
        #expect(read.storedValues == clicks + read.count)
        #expect(read.prefixClickCount == copied.prefixClickCount && read.prefixClickCount > read.storedValues)
    }

    /// The fingerprint hashes the prefixes as if copied back to back with their offsets, as it
    /// did before examples were views, so resumed runs and checkpoints still match their data.
    @Test func fingerprintIsTheFlatLayouts() {
        let sessions = SessionList([[3, 1, 2], [2, 2], [1, 3, 3, 1]])
        let test = ExampleSet(prefixes: [[1, 2], [1], [3]], targets: [3, 2, 1])
        let dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: test, vocabulary: .identity(count: 3), itemCount: 3)
        var hash = FNV1a64()
        hash.add(Int64(3))
        for raw in dataset.vocabulary.rawIDs { hash.add(raw) }
        for examples in [dataset.train, test] {
            let prefixes = examples.prefixArrays
            hash.add(prefixes.flatMap { $0 })
            hash.add(Int64(prefixes.count + 1))
            var offset = 0
            hash.add(Int64(0))
            for prefix in prefixes {
                offset += prefix.count
                hash.add(Int64(offset))
            }
            hash.add(examples.targets)
        }
        #expect(dataset.fingerprint == "fnv1a64:" + hash.hex)
    }
}
