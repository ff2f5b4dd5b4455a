import Foundation
import Testing
import TestSupport
import SessionData

/// The streamed line reader skipping over-long lines, and the streamed atomic writer.
@Suite struct FileIOTests {
    /// Lines around over-long ones (one ending the file without a newline) keep their numbers.
    @Test func overlongLinesAreReportedAndSkipped() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let long = String(repeating: "x", count: 100)
        let path = try folder.file("lines.txt", "a\n\(long)\nb\r\n\(long)\(long)\nc\n\(long)")
        var seen = [String](), overlong = [Int]()
        try FileIO.forEachLine(path, maximumLineLength: 10, overlongLine: { overlong.append($0) }) { line, number in
            seen.append("\(number):" + String(decoding: line, as: UTF8.self))
        }
        #expect(seen == ["1:a", "3:b", "5:c"])
        #expect(overlong == [2, 4, 6])
        #expect(throws: SessionDataError(file: path, location: .line(2), "the line is longer than 10 bytes (the limit for one test line)"))
        {
            try FileIO.forEachLine(path, maximumLineLength: 10, limitName: "one test line") { _, _ in }
        }
    }

    /// Nothing appears under the final name before `commit()`; a writer dropped uncommitted leaves
    /// the old file and no temporary one.
    @Test func atomicFileWriterAppearsOnlyWhenCommitted() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path + "/out.txt"
        do {
            let writer = try AtomicFileWriter(path: path)
            try Array("one\n".utf8).withUnsafeBytes { try writer.write($0) }
            #expect(!FileManager.default.fileExists(atPath: path))
            try Array("two\n".utf8).withUnsafeBytes { try writer.write($0) }
            try writer.commit()
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\n")
        do {
            let writer = try AtomicFileWriter(path: path)
            try Array("half".utf8).withUnsafeBytes { try writer.write($0) }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.txt"])
    }
}
