import Testing
@testable import SessionData

@Suite("Pickle codec")
struct PickleTests {
    let sessions = SessionList([[1, 2, 3], [4], [300, 70000, 5], [1, 1]])

    @Test("round trip, protocols 2 to 5", arguments: [2, 3, 4, 5])
    func roundTrip(protocolVersion: Int) throws {
        let bytes = Pickle.encode(sessions, protocol: protocolVersion)
        #expect(bytes[0] == 0x80 && Int(bytes[1]) == protocolVersion)
        #expect(try Pickle.readSessions(bytes, file: "mem") == sessions)
        let examples = ExampleSet.augmenting(sessions)
        #expect(try Pickle.readExamples(Pickle.encode(examples, protocol: protocolVersion), file: "mem") == examples)
        // The test set as a 2-element list instead of a tuple.
        #expect(try Pickle.readExamples(Pickle.encode(examples, protocol: protocolVersion, asList: true), file: "mem") == examples)
    }

    @Test("large data: APPENDS batches of 1000, LONG_BINPUT past 256 memo entries, several 64 KiB frames")
    func largeData() throws {
        var big = SessionList()
        for s in 0..<3000 { big.append((0..<(s % 7 + 1)).map { Int32(1 + (s * 31 + $0) % 100_000) }) }
        for version in 2...5 {
            let bytes = Pickle.encode(big, protocol: version)
            #expect(try Pickle.readSessions(bytes, file: "big") == big)
            if version >= 4 { #expect(bytes.filter { $0 == 0x95 }.count >= 2) }
        }
    }

    @Test("the memo: a list stored with BINPUT and fetched with BINGET is the same list")
    func memoGet() throws {
        // pickle.dumps of `inner = [1]; [inner, inner]` with protocol 2.
        let bytes: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x28, 0x5D, 0x71, 0x01, 0x4B, 0x01, 0x61, 0x68, 0x01, 0x65, 0x2E]
        #expect(try Pickle.decode(bytes, file: "mem") == .list([.list([.int(1)]), .list([.int(1)])]))
    }

    @Test("integers of every width: BININT1, BININT2, BININT (signed), LONG1")
    func integers() throws {
        let values = [0, 255, 256, 65535, 65536, -1, Int(Int32.max), Int(Int32.min), 1 << 40, -(1 << 40)]
        let value = PickleValue.list(values.map { .int($0) })
        for version in 2...5 { #expect(try Pickle.decode(Pickle.encode(value, protocol: version), file: "mem") == value) }
    }

    @Test(
        "the reference's own fixture pickles decode (protocol 4 with frames and MEMOIZE)",
        .enabled(if: Shared.exists(Shared.digineticaFixture), "needs ../shared/fixtures/preprocess"))
    func fixturePickles() throws {
        let folder = Shared.digineticaFixture
        let all = try Pickle.readSessions(FileIO.readAll(folder + "/all_train_seq.txt"), file: "all_train_seq.txt")
        let train = try Pickle.readExamples(FileIO.readAll(folder + "/train.txt"), file: "train.txt")
        #expect(all.count == 469)
        #expect(train.count == 1205)
        // The fixture's training examples are exactly the augmentation of its sessions.
        expectSameExamples(ExampleSet.augmenting(all), train, "augmenting(all_train_seq)")
        // Our writer reproduces CPython's bytes.
        #expect(Pickle.encode(all, protocol: 4) == (try FileIO.readAll(folder + "/all_train_seq.txt")))
        #expect(Pickle.encode(train, protocol: 4) == (try FileIO.readAll(folder + "/train.txt")))
    }
}

@Suite("Flat sessions and augmentation")
struct SessionListTests {
    @Test("augmentation in the reference's order: for each session, longest prefix first")
    func augmentationOrder() {
        let examples = ExampleSet.augmenting(SessionList([[1, 2, 3], [4, 5]]))
        #expect(examples.prefixArrays == [[1, 2], [1], [4]])
        #expect(examples.targets == [3, 2, 5])
        let skipped = ExampleSet.augmenting(SessionList([[1, 2, 3], [4, 5]]), skippingFirst: 1)
        #expect(skipped.prefixArrays == [[1], [4]])
        #expect(skipped.targets == [2, 5])
    }

    @Test("test sessions are recovered from augmented examples")
    func reconstruction() {
        let sessions = SessionList([[1, 2, 3], [4, 5], [4, 5], [6, 6, 6, 7]])
        #expect(ExampleSet.augmenting(sessions).reconstructedSessions() == sessions)
    }

    @Test("each example knows its session: the prefixes of one session share a number")
    func sessionNumbers() {
        let sessions = SessionList([[1, 2, 3], [4, 5], [4, 5], [6, 6, 6, 7]])
        #expect(ExampleSet.augmenting(sessions).sessionNumbers() == [0, 0, 1, 2, 3, 3, 3])
        // A Yoochoose-style skip starts inside the first session: its tail is one session.
        #expect(ExampleSet.augmenting(sessions, skippingFirst: 1).sessionNumbers() == [0, 1, 2, 3, 3, 3])
        // A one-click prefix ends a session, so a session that repeats the previous one's start is new.
        #expect(ExampleSet.augmenting(SessionList([[1, 2], [1, 3]])).sessionNumbers() == [0, 1])
        #expect(ExampleSet().sessionNumbers().isEmpty)
    }

    @Test("vocabulary: raw ids ↔ internal ids; identity for SR-GNN folders")
    func vocabulary() {
        let vocabulary = ItemVocabulary(rawIDs: ["81766", "31331", "abc"])
        #expect(vocabulary.count == 3)
        #expect(vocabulary.internalID(of: "31331") == 2)
        #expect(vocabulary.internalID(of: "nope") == nil)
        #expect(vocabulary.rawID(of: 3) == "abc")
        let identity = ItemVocabulary.identity(count: 5)
        #expect(identity.internalID(of: "5") == 5)
        #expect(identity.internalID(of: "6") == nil)
        #expect(identity.internalID(of: "05") == nil)
        #expect(identity.rawID(of: 4) == "4")
        #expect(identity == ItemVocabulary(rawIDs: ["1", "2", "3", "4", "5"]))
    }
}
