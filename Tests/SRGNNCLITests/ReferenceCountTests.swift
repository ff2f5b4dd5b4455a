import Foundation
import TestSupport
import Testing

/// Issue 29, item 2: `srgnn stats` gives the counts the reference's own loader gives, on folders
/// shaped like RetailRocket, Tmall and Nowplaying in SR-GNN pickle format (sessions of up to 300
/// clicks, written by Python's pickle) and on every SR-GNN folder in ../shared/data. The expected
/// counts are computed in Python from the pickles, as the official SR-GNN code reads them.
@Suite("stats against the reference's counts", .enabled(if: Python.available, "needs python3"))
struct ReferenceCountTests {
    /// Writes the three shapes into `folder` (one sub-folder each).
    static let generator = #"""
        import pickle, random, sys
        root = sys.argv[1]
        def augment(sessions):
            # The official preprocess.py's process_seqs: every prefix, longest first.
            prefixes, labels = [], []
            for s in sessions:
                for i in range(1, len(s)):
                    labels.append(s[-i]); prefixes.append(s[:-i])
            return prefixes, labels
        def sessions(rng, count, items, long):
            out = [[rng.randint(1, items) for _ in range(rng.choice([2, 2, 3, 4, 5, 8, 13]))] for _ in range(count)]
            for k, length in enumerate(long):
                out[rng.randrange(len(out))] = [rng.randint(1, items) for _ in range(length)]
            return out
        def dump(value, path, protocol):
            with open(path, "wb") as f: pickle.dump(value, f, protocol=protocol)
        import os
        rng = random.Random(29)
        # RetailRocket: 7 training sessions over 200 clicks, up to 285; all three files, protocol 3.
        os.makedirs(root + "/retailrocket")
        train = sessions(rng, 2000, 400, [201, 210, 222, 240, 256, 270, 285])
        test = sessions(rng, 300, 400, [205, 231])
        dump(train, root + "/retailrocket/all_train_seq.txt", 3)
        dump(augment(train), root + "/retailrocket/train.txt", 3)
        dump(augment(test), root + "/retailrocket/test.txt", 3)
        # Tmall: train.txt and test.txt only (no all_train_seq.txt), protocol 4.
        os.makedirs(root + "/tmall")
        train = sessions(rng, 1500, 300, [240, 203])
        test = sessions(rng, 200, 300, [260])
        dump(augment(train), root + "/tmall/train.txt", 4)
        dump(augment(test), root + "/tmall/test.txt", 4)
        # Nowplaying: protocol 5, the test set as a 2-element list, a 300-click session.
        os.makedirs(root + "/nowplaying")
        train = sessions(rng, 1800, 500, [300, 212, 250])
        test = sessions(rng, 250, 500, [217])
        dump(train, root + "/nowplaying/all_train_seq.txt", 5)
        dump(augment(train), root + "/nowplaying/train.txt", 5)
        dump(list(augment(test)), root + "/nowplaying/test.txt", 5)
        """#

    /// The reference's counts for each folder given, as JSON lines `{"folder": …, counts…}`.
    static let counter = #"""
        import json, os, pickle, sys
        def load(path):
            with open(path, "rb") as f: return pickle.load(f)
        def sessions_of(prefixes, labels):
            # Test (or training) sessions from examples in augmentation order: an example continues
            # the previous session when its prefix is the previous prefix minus its last item.
            out, previous = [], None
            for prefix, label in zip(prefixes, labels):
                if not (previous is not None and len(previous) > 1 and prefix == previous[:-1]):
                    out.append(list(prefix) + [label])
                previous = prefix
            return out
        for folder in sys.argv[1:]:
            test = load(folder + "/test.txt")
            train = load(folder + "/train.txt") if os.path.exists(folder + "/train.txt") else None
            if os.path.exists(folder + "/all_train_seq.txt"):
                train_sessions = load(folder + "/all_train_seq.txt")
            else:
                train_sessions = sessions_of(*train)
            # What the reference's main.py trains and tests on: len(train_data[0]), len(test_data[0]).
            train_examples = len(train[0]) if train is not None else sum(len(s) - 1 for s in train_sessions)
            test_sessions = sessions_of(*test)
            ids = [i for s in train_sessions for i in s] + [i for p in test[0] for i in p] + list(test[1])
            if train is not None: ids += [i for p in train[0] for i in p] + list(train[1])
            clicks = sum(map(len, train_sessions)) + sum(map(len, test_sessions))
            print(json.dumps({"folder": folder, "clicks": clicks, "train_sessions": len(train_sessions),
                              "train_examples": train_examples, "test_sessions": len(test_sessions),
                              "test_examples": len(test[0]), "items": max(ids),
                              "average_length": clicks / (len(train_sessions) + len(test_sessions)),
                              "longest": max(map(len, train_sessions))}))
        """#

    static func check(_ folders: [String]) throws {
        let expected = try Python.run(counter, folders)
        for line in expected.split(separator: "\n") {
            let reference = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let folder = try #require(reference["folder"] as? String)
            let stats = try runSRGNN(["stats", folder, "--json"])
            #expect(stats.status == 0, "\(stats.error)")
            let ours = try #require(JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [String: Any])
            for key in ["clicks", "train_sessions", "train_examples", "test_sessions", "test_examples", "items"] {
                #expect(ours[key] as? Int == reference[key] as? Int, "\(folder): \(key)")
            }
            let average = try #require(ours["average_length"] as? Double),
                referenceAverage = try #require(reference["average_length"] as? Double)
            #expect(abs(average - referenceAverage) <= 1e-12 * referenceAverage, "\(folder): average_length")
        }
    }

    @Test("RetailRocket, Tmall and Nowplaying shapes: sessions over 200 clicks give every example the reference gives")
    func longSessionShapes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try Python.run(Self.generator, [folder.path])
        let folders = ["retailrocket", "tmall", "nowplaying"].map { folder.path + "/" + $0 }
        // The shapes do have sessions over 200 clicks (else this test would prove nothing).
        for line in try Python.run(Self.counter, folders).split(separator: "\n") {
            let reference = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((reference["longest"] as? Int ?? 0) > 200)
        }
        try Self.check(folders)
    }

    @Test(
        "every SR-GNN folder in ../shared/data",
        .enabled(if: Shared.exists(Shared.root + "/data/diginetica/test.txt"), "needs ../shared/data"))
    func sharedFolders() throws {
        let root = Shared.root + "/data"
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
            .filter { Shared.exists(root + "/" + $0 + "/test.txt") }
        #expect(names.contains("diginetica") && names.contains("yoochoose1_64"))
        try Self.check(names.map { root + "/" + $0 })
    }
}

/// `python3`, when the machine has it.
enum Python {
    static let path: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "/opt/homebrew/bin/python3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { path != nil }

    /// Runs `script` with `arguments`; returns its standard output, throws on a non-zero exit.
    static func run(_ script: String, _ arguments: [String]) throws -> String {
        let result = try runProcess(try #require(path), ["-c", script] + arguments)
        guard result.status == 0 else {
            throw PythonFailed(description: "python3 exited with \(result.status): " + result.error)
        }
        return result.output
    }
}

struct PythonFailed: Error, CustomStringConvertible {
    let description: String
}
