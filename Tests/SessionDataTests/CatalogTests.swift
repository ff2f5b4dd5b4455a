import Foundation
import SessionData
import TensorCore
import Testing
import TestSupport

@Suite struct CatalogTests {
    @Test func readsCSVWithQuotesAvailabilityAndBlankLines() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try folder.file(
            "items.csv",
            #"""
            item_id,available,category,brand
            1,true,shoes,"Acme, Inc."
            2,0,socks,
            "3",yes,"say ""hi""",Zed

            4,,shoes,Acme
            """#)
        let catalog = try Catalog.load(from: path)
        #expect(catalog.attributeNames == ["category", "brand"])
        #expect(catalog.entries["1"] == Catalog.Entry(available: true, attributes: ["category": ["shoes"], "brand": ["Acme, Inc."]]))
        #expect(catalog.entries["2"] == Catalog.Entry(available: false, attributes: ["category": ["socks"]]))
        #expect(catalog.entries["3"]?.attributes["category"] == ["say \"hi\""])
        #expect(catalog.entries["4"]?.available == true)
        #expect(catalog.entries.count == 4)
    }

    @Test func readsJSONLinesWithListsAndNumbers() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try folder.file(
            "items.jsonl",
            """
            {"id": "a", "available": false, "size": 42.0, "tags": ["x", 7]}
            {"id": 17, "size": 0.5, "colour": null}
            """)
        let catalog = try Catalog.load(from: path)
        #expect(catalog.entries["a"] == Catalog.Entry(available: false, attributes: ["size": ["42"], "tags": ["x", "7"]]))
        #expect(catalog.entries["17"] == Catalog.Entry(available: true, attributes: ["size": ["0.5"]]))
    }

    @Test(
        "a malformed catalog names the file, line and field",
        arguments: [
            ("items.csv", "id,available\n1,true\n1,false\n", "items.csv: line 3: field 'id': item '1' appears twice"),
            (
                "items.csv", "id,available\n1,maybe\n",
                "items.csv: line 2: field 'available': expected true/false (or 1/0, yes/no), found 'maybe'"
            ),
            ("items.csv", "id,colour\n1,red,extra\n", "items.csv: line 2: 3 fields, the header has 2"),
            ("items.csv", "sku,colour\n1,red\n", "items.csv: line 1: the header needs an item id column"),
            ("items.csv", "id,colour\n1,\"red\n", "items.csv: line 2: field 'column 2': a quoted field is not closed"),
            ("items.csv", "", "items.csv: the file is empty"),
            ("items.jsonl", "{\"id\": \"1\"}\n[1, 2]\n", "items.jsonl: line 2: expected a JSON object"),
            ("items.jsonl", "{\"colour\": \"red\"}\n", "items.jsonl: line 1: field 'id': missing"),
            ("items.jsonl", "{\"id\": \"1\", \"available\": \"no\"}\n", "items.jsonl: line 1: field 'available': expected true or false"),
            ("items.jsonl", "{\"id\": \"1\", \"new\": true}\n", "items.jsonl: line 1: field 'new': expected a string, a number or a list"),
        ])
    func malformed(name: String, text: String, message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try folder.file(name, text)
        let error = #expect(throws: SessionDataError.self) { try Catalog.load(from: path) }
        #expect(error?.description.hasPrefix(folder.path + "/" + message) == true, "\(error?.description ?? "")")
    }

    @Test func indexAppliesAvailabilityAndFilters() throws {
        let vocabulary = ItemVocabulary(rawIDs: ["1", "2", "3", "4", "5"])
        let catalog = Catalog(entries: [
            "1": .init(available: true, attributes: ["category": ["shoes"]]),
            "2": .init(available: false, attributes: ["category": ["socks"]]),
            "3": .init(available: true, attributes: ["category": ["socks", "shoes"], "brand": ["acme"]]),
            "9": .init(available: true, attributes: ["category": ["shoes"]]),  // not in the model
        ])
        let index = CatalogIndex(catalog, vocabulary: vocabulary)
        #expect(index.rowsNotInModel == 1 && index.itemsNotInCatalog == 2)
        func ids(_ mask: ItemMask) -> [Int32] { (1...5).map(Int32.init).filter(mask.contains) }
        #expect(ids(try index.allowed(filter: [:], includeUnavailable: false)) == [1, 3, 4, 5])
        #expect(ids(try index.allowed(filter: ["category": ["socks"]], includeUnavailable: false)) == [3])
        #expect(ids(try index.allowed(filter: ["category": ["socks"]], includeUnavailable: true)) == [2, 3])
        #expect(ids(try index.allowed(filter: ["category": ["socks", "shoes"], "brand": ["acme"]], includeUnavailable: false)) == [3])
        #expect(ids(try index.allowed(filter: ["category": []], includeUnavailable: false)) == [])
        #expect(throws: CatalogError.unknownAttribute("colour", known: ["brand", "category"])) {
            try index.allowed(filter: ["colour": ["red"]], includeUnavailable: false)
        }
    }

    /// A JSON number compares as its shortest text; an integer exactly, even past 2^53 (where a
    /// Double would round it and miss the CSV row that spells it out).
    @Test func numbersCompareAsTheirShortestText() throws {
        let values = try JSONDecoder().decode(
            [Catalog.Scalar].self,
            from: Data(#"[2, 2.0, -7, 0.5, 1e20, "2.0", 12345678901234567, 9007199254740993]"#.utf8)
        ).map(\.text)
        #expect(values == ["2", "2", "-7", "0.5", "1e+20", "2.0", "12345678901234567", "9007199254740993"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Catalog.Scalar].self, from: Data("[true]".utf8)) }
    }
}
