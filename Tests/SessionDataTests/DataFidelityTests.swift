import Foundation
import TensorCore
import Testing
import TestSupport
@testable import SessionData

/// Issue 29, items 3 and 4: ids are compared byte for byte everywhere, and the catalogue reads and
/// compares values by one rule in its three formats.
@Suite struct DataFidelityTests {
    /// `café` with a precomposed é (U+00E9) and with e + a combining acute accent (U+0301): equal
    /// under Swift's `String ==` (canonical equivalence), different bytes.
    static let composed = "caf\u{E9}", decomposed = "cafe\u{301}"

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test("item 3: the two spellings are different bytes that Swift's String == calls equal")
    func premise() {
        #expect(Self.composed == Self.decomposed)
        #expect(!Self.composed.utf8.elementsEqual(Self.decomposed.utf8))
        #expect(RawKey(Self.composed) != RawKey(Self.decomposed))
        #expect(Set([RawKey(Self.composed), RawKey(Self.decomposed)]).count == 2)
    }

    @Test("item 3: the vocabulary keeps both ids apart, and vocabularies differing only so are different")
    func vocabulary() throws {
        let vocabulary = ItemVocabulary(rawIDs: [Self.composed, Self.decomposed, "x"])
        #expect(vocabulary.internalID(of: Self.composed) == 1)
        #expect(vocabulary.internalID(of: Self.decomposed) == 2)
        #expect(ItemVocabulary(rawIDs: [Self.composed]) != ItemVocabulary(rawIDs: [Self.decomposed]))
        // A checkpoint's vocabulary with both decodes (it is not "the same id twice").
        let json = try JSONEncoder().encode(vocabulary)
        let decoded = try JSONDecoder().decode(ItemVocabulary.self, from: json)
        #expect(decoded.rawIDs.map { Array($0.utf8) } == vocabulary.rawIDs.map { Array($0.utf8) })
        // Extending by the other spelling adds an item.
        let (extended, added) = ItemVocabulary(rawIDs: [Self.composed]).extended(with: ItemVocabulary(rawIDs: [Self.decomposed]))
        #expect(added == 1 && extended.internalID(of: Self.decomposed) == 2)
    }

    @Test("item 3: preprocessing keeps two items and two sessions whose ids differ only in their bytes")
    func preprocess() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var rows = ["session_id,item_id,time"]
        // Sessions s-é (composed) and s-é (decomposed) are two sessions; items likewise.
        for (k, session) in ["s-" + Self.composed, "s-" + Self.decomposed].enumerated() {
            rows.append("\(session),\(Self.composed),\(1_000 + k)")
            rows.append("\(session),\(Self.decomposed),\(1_001 + k)")
            rows.append("\(session),x,\(1_002 + k)")
        }
        rows.append("t,x,\(1_000 + 30 * 86400)\nt,\(Self.composed),\(1_001 + 30 * 86400)")
        let path = try folder.file("log.csv", rows.joined(separator: "\n") + "\n")
        let format = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session_id"),
            item: .name("item_id"), time: .name("time"), timeFormat: .unix)
        let log = try ClickLogReader(format: format).read(path)
        #expect(log.sessionCount == 3 && log.itemCount == 3)
        let result = try Preprocessor.run(log, options: PreprocessOptions(minimumItemSupport: 1))
        #expect(result.dataset.vocabulary.rawIDs.map { Array($0.utf8) } == [Self.composed, Self.decomposed, "x"].map { Array($0.utf8) })
        #expect(result.dataset.trainSessions.arrays == [[1, 2, 3], [1, 2, 3]])
        // Written and read back: items.txt holds both lines, and loading does not call them a repeat.
        try result.dataset.write(to: folder.path + "/data")
        let loaded = try SessionDataset.load(from: folder.path + "/data")
        #expect(loaded == result.dataset)
        #expect(loaded.vocabulary.internalID(of: Self.decomposed) == 2)
    }

    @Test("item 3: the catalogue keeps both ids, and applies each row to its own item")
    func catalogue() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let csv = try folder.file("items.csv", "id,available,colour\n\(Self.composed),false,red\n\(Self.decomposed),true,blue\n")
        let jsonl = try folder.file(
            "items.jsonl",
            "{\"id\": \"\(Self.composed)\", \"available\": false, \"colour\": \"red\"}\n{\"id\": \"\(Self.decomposed)\", \"colour\": \"blue\"}\n"
        )
        let vocabulary = ItemVocabulary(rawIDs: [Self.composed, Self.decomposed])
        for path in [csv, jsonl] {
            let catalog = try Catalog.load(from: path)
            #expect(catalog.entries.count == 2)
            let index = CatalogIndex(catalog, vocabulary: vocabulary)
            #expect(index.rowsNotInModel == 0)
            #expect(!index.available.contains(1) && index.available.contains(2))
            let blue = try index.allowed(filter: ["colour": ["blue"]], includeUnavailable: true)
            #expect(!blue.contains(1) && blue.contains(2))
        }
    }

    @Test("ids that are not UTF-8 are an error naming line and field, not merged as U+FFFD")
    func idsThatAreNotUTF8() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Items 0xFF and 0xFE would both decode to U+FFFD and become one item.
        let bytes = Array("session_id,item_id,time\n1,a,1\n1,".utf8) + [0xFF] + Array(",2\n1,".utf8) + [0xFE] + Array(",3\n".utf8)
        let path = try folder.file("log.csv", bytes: bytes)
        let format = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session_id"),
            item: .name("item_id"), time: .name("time"), timeFormat: .unix)
        let text = Self.message { _ = try ClickLogReader(format: format).read(path) }
        #expect(text.hasPrefix(path + ": line 3: field 'item_id': expected an id in UTF-8"), "\(text)")
    }

    // MARK: Item 4

    static func load(_ name: String, _ text: String) throws -> Catalog {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        return try Catalog.load(from: try folder.file(name, text))
    }

    @Test("item 4: unquoted CSV/TSV ids and values lose surrounding blanks, as the header does; quoted ones are kept")
    func csvFieldsAreTrimmedLikeTheHeader() throws {
        let csv = try Self.load("items.csv", " id , colour ,available\n 17 , red ,true\n\" 18 \",\" blue \", false \n")
        #expect(csv.entries["17"]?.attributes["colour"] == ["red"])
        #expect(csv.entries[" 18 "]?.attributes["colour"] == [" blue "])
        #expect(csv.entries[" 18 "]?.available == false)
        let tsv = try Self.load("items.tsv", "id\tcolour\n 17 \t red \n")
        #expect(tsv.entries["17"]?.attributes["colour"] == ["red"])
        // The trimmed id matches the model's item.
        let index = CatalogIndex(csv, vocabulary: ItemVocabulary(rawIDs: ["17", "18"]))
        #expect(index.rowsNotInModel == 1 && index.itemsNotInCatalog == 1)
    }

    @Test("item 4: a UTF-8 byte-order mark is skipped in all three formats", arguments: ["items.csv", "items.tsv", "items.jsonl"])
    func byteOrderMark(name: String) throws {
        let text =
            name.hasSuffix(".jsonl")
            ? "{\"id\": \"1\", \"colour\": \"red\"}\n"
            : name.hasSuffix(".tsv") ? "id\tcolour\n1\tred\n" : "id,colour\n1,red\n"
        let catalog = try Self.load(name, "\u{FEFF}" + text)
        #expect(catalog.entries["1"]?.attributes["colour"] == ["red"])
        #expect(catalog.attributeNames == ["colour"])
    }

    @Test("item 4: a JSON object that repeats a key is an error naming the line and the key")
    func repeatedJSONKeys() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        for line in [#"{"id": "1", "colour": "red", "colour": "blue"}"#, #"{"id": "1", "id": "2"}"#] {
            let path = try folder.file("items.jsonl", "{\"id\": \"0\"}\n" + line + "\n")
            let text = Self.message { _ = try Catalog.load(from: path) }
            #expect(text.hasPrefix(path + ": line 2: field '") && text.hasSuffix("': the key appears twice in the object"), "\(text)")
        }
        // Keys that differ only in their bytes are two keys, not a repeat.
        let catalog = try Self.load("items.jsonl", "{\"id\": \"1\", \"\(Self.composed)\": \"a\", \"\(Self.decomposed)\": \"b\"}\n")
        #expect(catalog.entries["1"]?.attributes.count == 2)
    }

    @Test("item 4: one rule for values: numbers by value, other text byte for byte, in every format")
    func valuesCompareByOneRule() throws {
        #expect(Catalog.comparisonText("41.0") == "41" && Catalog.comparisonText("4.1e1") == "41" && Catalog.comparisonText("41") == "41")
        #expect(Catalog.comparisonText("-0") == "0" && Catalog.comparisonText("0.50") == "0.5")
        #expect(Catalog.comparisonText("007") == "007" && Catalog.comparisonText("+5") == "+5" && Catalog.comparisonText(" 41") == " 41")
        #expect(Catalog.comparisonText("12345678901234567890123") == "12345678901234567890123")
        #expect(Catalog.comparisonText("1e400") == "1e400" && Catalog.comparisonText("1E400") == "1E400")
        let vocabulary = ItemVocabulary(rawIDs: ["1", "2", "3", "4"])
        let files = [
            ("items.csv", "id,size,code,big\n1,41,007,1e400\n2,41.0,7,1\n3,42,x,2\n"),
            ("items.tsv", "id\tsize\tcode\tbig\n1\t41\t007\t1e400\n2\t41.0\t7\t1\n3\t42\tx\t2\n"),
            (
                "items.jsonl",
                #"""
                {"id": "1", "size": 41, "code": "007", "big": 1e400}
                {"id": 2, "size": 41.0, "code": 7, "big": 1}
                {"id": "3", "size": "42", "code": "x", "big": 2}

                """#
            ),
        ]
        for (name, text) in files {
            let index = CatalogIndex(try Self.load(name, text), vocabulary: vocabulary)
            func ids(_ filter: [String: [String]]) throws -> [Int32] {
                let mask = try index.allowed(filter: filter, includeUnavailable: true)
                return (1...4).map(Int32.init).filter(mask.contains)
            }
            #expect(try ids(["size": ["41.0"]]) == [1, 2], "\(name)")
            #expect(try ids(["size": ["41"]]) == [1, 2], "\(name)")
            #expect(try ids(["size": ["4.2e1"]]) == [3], "\(name)")
            #expect(try ids(["code": ["7"]]) == [2], "\(name)")
            #expect(try ids(["code": ["007"]]) == [1], "\(name)")
            #expect(try ids(["big": ["1e400"]]) == [1], "\(name)")
        }
    }

    @Test("item 4: a request's 1e400 is refused with a message that says why, not as a wrong type")
    func hugeNumberInARequest() throws {
        let error = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([String: [Catalog.Scalar]].self, from: Data(#"{"size": [1e400]}"#.utf8))
        }
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("beyond the range of 64-bit floating point"), "\(context.debugDescription)")
        #expect(context.debugDescription.contains("send it as a string"))
        // As a string it is a value like any other.
        let values = try JSONDecoder().decode([Catalog.Scalar].self, from: Data(#"["1e400", 41.0, "41.0"]"#.utf8))
        #expect(values.map { Catalog.comparisonText($0.text) } == ["1e400", "41", "41"])
    }
}
