import Foundation
import SessionData
import SRGNN
import Testing
import TestSupport

/// Issue 29, items 7, 8 and 13: a checkpoint is read only as far as its header says, its data is
/// checked against the checksum it carries, and refusals never echo the file's bytes.
@Suite struct CheckpointIntegrityTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    /// A small checkpoint with metadata, saved in `folder`.
    static func checkpoint(in folder: TemporaryFolder, name: String = "m.safetensors") throws -> String {
        let model = try BadInputTests.smallModel()
        let metadata = CheckpointMetadata(
            model: model.configuration, vocabulary: .identity(count: 9), epoch: 0, metrics: [:],
            training: nil, history: nil)
        let path = folder.path + "/" + name
        try LoadedModel.save(model: model, metadata: metadata, to: path)
        return path
    }

    /// The JSON header of safetensors `bytes`.
    static func header(of bytes: [UInt8]) throws -> [String: Any] {
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        return try #require(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
    }

    /// `bytes` rewritten with `edit` applied to its header's metadata (data section unchanged).
    static func rewritingMetadata(_ bytes: [UInt8], _ edit: (inout [String: String]) -> Void) throws -> [UInt8] {
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        var header = try Self.header(of: bytes)
        var metadata = try #require(header["__metadata__"] as? [String: String])
        edit(&metadata)
        header["__metadata__"] = metadata
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        out.append(contentsOf: bytes[(8 + length)...])
        return out
    }

    @Test("7: a checkpoint carries a SHA-256 of its tensor data as a string, so standard readers take it")
    func checksumIsWritten() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Self.checkpoint(in: folder))))
        let metadata = try #require(try Self.header(of: bytes)["__metadata__"] as? [String: String])
        let checksum = try #require(metadata[SafeTensorsFile.dataChecksumKey])
        #expect(checksum.count == 64 && checksum.allSatisfy(\.isHexDigit))
    }

    @Test("7: a copy whose second half is zeros is refused at load, not served as zeros")
    func zeroedSecondHalfIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Self.checkpoint(in: folder))))
        // The second half of the data (this small model's header is most of its file).
        let dataStart = 8 + bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        for index in (dataStart + (bytes.count - dataStart) / 2)..<bytes.count { bytes[index] = 0 }
        let path = try folder.file("half.safetensors", bytes: bytes)
        let text = Self.message { _ = try LoadedModel.load(from: path) }
        #expect(text.hasPrefix("\(path): damaged: its tensor data does not match the SHA-256 recorded in its header"), "\(text)")
        // One flipped bit is damage too.
        var flipped = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Self.checkpoint(in: folder))))
        flipped[flipped.count - 3] ^= 0x01
        let flippedPath = try folder.file("flipped.safetensors", bytes: flipped)
        #expect(Self.message { _ = try LoadedModel.load(from: flippedPath) }.contains("damaged"))
    }

    @Test("7: a checkpoint written before checksums still loads, with a note; a checked one has none")
    func oldCheckpointLoadsWithANote() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try Self.checkpoint(in: folder)
        #expect(try LoadedModel.load(from: path).notes.isEmpty)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let old = try Self.rewritingMetadata(bytes) { $0[SafeTensorsFile.dataChecksumKey] = nil }
        let oldPath = try folder.file("old.safetensors", bytes: old)
        let loaded = try LoadedModel.load(from: oldPath)
        #expect(loaded.model.parameters == (try LoadedModel.load(from: path)).model.parameters)
        #expect(loaded.notes.count == 1 && loaded.notes[0].contains("checksum"), "\(loaded.notes)")
    }

    @Test("8: bytes after the last tensor are refused as too large, before the data is read")
    func trailingBytesAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Self.checkpoint(in: folder))))
        let padded = try folder.file("padded.safetensors", bytes: bytes + [UInt8](repeating: 0, count: 1 << 20))
        let text = Self.message { _ = try LoadedModel.load(from: padded) }
        #expect(text.hasPrefix("\(padded): too large: \(1 << 20) bytes follow the last tensor's data"), "\(text)")
        #expect(
            Self.message { _ = try SafeTensorsFile(data: Data(bytes + [0]), path: "w.st") }.hasPrefix("w.st: too large: 1 bytes follow"))
        // 2 GB of sparse zeros after a valid checkpoint: refused from the header alone.
        let huge = folder.path + "/huge.safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: huge))
        #expect(truncate(huge, off_t(2) << 30) == 0)
        let hugeText = Self.message { _ = try LoadedModel.load(from: huge) }
        #expect(hugeText.hasPrefix("\(huge): too large: "), "\(hugeText)")
    }

    @Test("8: a header length over the stated budget is refused as too large, not read")
    func headerOverTheBudgetIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path + "/big-header.safetensors"
        var prefix = [UInt8]()
        withUnsafeBytes(of: UInt64(SafeTensorsFile.maximumHeaderBytes + 8).littleEndian) { prefix.append(contentsOf: $0) }
        try Data(prefix + Array("{".utf8)).write(to: URL(fileURLWithPath: path))
        #expect(truncate(path, off_t(SafeTensorsFile.maximumHeaderBytes + 64)) == 0)  // sparse: no disk used
        let text = Self.message { _ = try SafeTensorsFile(contentsOf: path) }
        #expect(
            text
                == "\(path): too large: the header is longer than \(SafeTensorsFile.maximumHeaderBytes) bytes, the limit for a safetensors header"
        )
    }

    @Test(
        "13: refusing a file that is not safetensors echoes none of its bytes",
        arguments: [
            "root:*:20000:0:99999:7:::\n", "s3cr3t-admin-token-0123456789\n",
        ])
    func refusalsDoNotEchoTheFile(contents: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try folder.file("secret", contents)
        let text = Self.message { _ = try LoadedModel.load(from: path) }
        let firstEight = Array(contents.utf8.prefix(8))
        let asLength = firstEight.enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        #expect(text.hasPrefix("\(path): truncated or not safetensors"), "\(text)")
        let reason = String(text.dropFirst(path.count))
        #expect(!reason.contains(String(asLength)) && !reason.contains(String(decoding: firstEight, as: UTF8.self)), "\(text)")
        #expect(!reason.contains(String(contents.prefix(4))), "\(text)")
    }

    @Test("9: a FIFO at the model path is refused at once, not waited on for a writer")
    func fifoIsRefusedWithoutBlocking() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path + "/model.safetensors"
        #expect(mkfifo(path, 0o600) == 0)
        // A guard that unblocks an open that waits for a writer, so the old code fails instead of hanging.
        let guardThread = Thread {
            Thread.sleep(forTimeInterval: 20)
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        guardThread.start()
        let started = Date()
        let text = Self.message { _ = try LoadedModel.load(from: path) }
        #expect(Date().timeIntervalSince(started) < 10, "the load waited for a writer")
        #expect(text.contains("is not a regular file"), "\(text)")
    }
}
