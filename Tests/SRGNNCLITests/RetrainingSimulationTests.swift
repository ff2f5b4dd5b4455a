import Foundation
import SessionData
import TestSupport
import Testing

/// Issue 31, item 6: the incremental-retraining simulation (scripts/retraining-simulation.sh,
/// docs/RESULTS.md). The windows script cuts the date-ordered sessions into consecutive windows;
/// after window w the full retrain trains on windows 1..w, the warm start on window w only (plus a
/// replay sample of older sessions), and all of them are tested on window w + 1 with the same
/// items and the same test examples.
@Suite("incremental-retraining simulation", .enabled(if: Python.available, "needs python3"))
struct RetrainingSimulationTests {
    static let windowsScript = Shared.packageRoot + "/scripts/retraining-windows.py"

    /// 60 sessions in date order over raw ids that keep appearing (`i<n>`), so every window brings
    /// new items and window w + 1 has items and labels that windows 1..w never saw.
    static let sessions: [[String]] = (0..<60).map { s in
        (0..<(2 + s % 4)).map { c in "i\((s * 7 + c * 3) % (10 + s))" }
    }

    /// A dataset folder of this tool holding `sessions` as training sessions.
    static func writeLog(in folder: TemporaryFolder) throws -> String {
        var ids: [String: Int] = [:]
        var order: [String] = []
        for session in sessions {
            for item in session where ids[item] == nil {
                order.append(item)
                ids[item] = order.count
            }
        }
        let data = folder.path + "/log"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try order.map { $0 + "\n" }.joined().write(toFile: data + "/items.txt", atomically: true, encoding: .utf8)
        try sessions.map { $0.map { String(ids[$0]!) }.joined(separator: " ") + "\n" }.joined()
            .write(toFile: data + "/train_sessions.txt", atomically: true, encoding: .utf8)
        return data
    }

    /// A folder's training sessions and test examples in raw ids, and its raw ids.
    static func load(_ path: String) throws -> (items: [String], sessions: [[String]], test: [([String], String)]) {
        let dataset = try SessionDataset.load(from: path)
        let raw = { (id: Int32) in dataset.vocabulary.rawID(of: id) }
        let sessions = (0..<dataset.trainSessions.count).map { dataset.trainSessions[$0].map(raw) }
        let test = (0..<dataset.test.count).map { (dataset.test.prefix($0).map(raw), raw(dataset.test.targets[$0])) }
        return (dataset.vocabulary.rawIDs, sessions, test)
    }

    @Test("windows: full = windows 1..w, new = window w, replay = window w + a sample of older sessions, one item list and test set per w")
    func windows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try Self.writeLog(in: folder)
        let out = folder.path + "/windows"
        let run = try runProcess(
            try #require(Python.path),
            [Self.windowsScript, data, out, "--windows", "4", "--replay-fraction", "0.4", "--seed", "3"])
        try #require(run.status == 0, "\(run.error)")
        let windows = stride(from: 0, to: 60, by: 15).map { Array(Self.sessions[$0..<$0 + 15]) }
        for w in 1...3 {
            let step = out + "/w\(w)"
            // The items of windows 1..w in order of first occurrence, shared by every folder of w.
            var known: [String] = []
            for session in windows[0..<w].joined() { for item in session where !known.contains(item) { known.append(item) } }
            let full = try Self.load(step + "/full"), next = try Self.load(step + "/next")
            #expect(full.items == known && next.items == known, "w\(w)")
            #expect(full.sessions == Array(windows[0..<w].joined()) && full.test.isEmpty, "w\(w)")
            #expect(next.sessions.isEmpty)
            // Window w + 1's prefixes (longest first), unknown items dropped from the prefix, an
            // example with an unknown label or no known item left out.
            var expected: [([String], String)] = []
            for session in windows[w] {
                for end in stride(from: session.count - 1, through: 1, by: -1) {
                    let prefix = session[..<end].filter(known.contains)
                    if !prefix.isEmpty && known.contains(session[end]) { expected.append((prefix, session[end])) }
                }
            }
            #expect(next.test.map(\.0) == expected.map(\.0) && next.test.map(\.1) == expected.map(\.1), "w\(w)")
            #expect(expected.count < windows[w].reduce(0) { $0 + $1.count - 1 }, "w\(w): the log tests no unknown item")
            guard w >= 2 else {
                #expect(!FileManager.default.fileExists(atPath: step + "/new"))
                continue
            }
            let new = try Self.load(step + "/new"), replay = try Self.load(step + "/replay0.4")
            #expect(new.items == known && replay.items == known, "w\(w)")
            #expect(new.sessions == windows[w - 1] && new.test.isEmpty, "w\(w)")
            // 0.4 of the older sessions, distinct, in date order, then window w.
            let older = Array(windows[0..<w - 1].joined())
            let sampled = Array(replay.sessions.dropLast(15))
            #expect(Array(replay.sessions.suffix(15)) == windows[w - 1], "w\(w)")
            #expect(sampled.count == 6 * (w - 1), "w\(w)")
            var position = older.startIndex
            for session in sampled {
                let found = try #require(older[position...].firstIndex(of: session), "w\(w): not an older session in date order")
                position = found + 1
            }
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/w4"))
    }

    @Test(
        "simulation: each warm model continues the previous one's chain, and the table has a row per window",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "needs /usr/bin/time"))
    func simulation() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try Self.writeLog(in: folder)
        let out = folder.path + "/sim"
        var environment = ProcessInfo.processInfo.environment
        environment["SRGNN"] = try Executable.path()
        environment["DATA"] = data
        environment["OUT"] = out
        environment["WINDOWS"] = "4"
        environment["EPOCHS"] = "1"
        environment["TRAIN_OPTIONS"] = "--hidden-size 8 --batch-size 16"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Shared.packageRoot + "/scripts/retraining-simulation.sh")
        process.arguments = ["--replay-fraction", "0.4", "--optimizer-state"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        // The chains: new-w2, replay0.4-w2 and state-w2 from full-w1, then each from its own.
        for (child, parent) in [
            ("new-w2", "full-w1"), ("replay0.4-w2", "full-w1"), ("state-w2", "full-w1"), ("new-w3", "new-w2"),
            ("replay0.4-w3", "replay0.4-w2"), ("state-w3", "state-w2"),
        ] {
            let log = try String(contentsOfFile: out + "/\(child).out", encoding: .utf8)
            #expect(log.contains("warm start from \(out)/\(parent).safetensors "), "\(child) does not start from \(parent)")
            // Only the state chain continues the parent's Adam moments.
            let continued = "Adam moments continued from \(out)/\(parent).safetensors.state"
            #expect(log.contains(continued) == child.hasPrefix("state"), "\(child)")
        }
        for full in ["full-w1", "full-w2", "full-w3"] {
            let log = try String(contentsOfFile: out + "/\(full).out", encoding: .utf8)
            #expect(!log.contains("warm start"), "\(full) is trained from scratch")
        }
        let table = try runProcess(try #require(Python.path), [Shared.packageRoot + "/scripts/retraining-table.py", out])
        try #require(table.status == 0, "\(table.error)")
        let rows = table.output.split(separator: "\n").filter { $0.hasPrefix("| ") }
        #expect(rows.map { $0.prefix(4) } == ["| af", "| 1 ", "| 2 ", "| 3 ", "| al"], "\(table.output)")
        // Four columns of models: full, new, replay 0.4, state.
        #expect(rows.allSatisfy { $0.filter { $0 == "|" }.count == 7 }, "\(table.output)")
    }
}
