import Foundation
import TestSupport
import Testing

/// Where the shared data and fixtures are (`../shared` beside the clone), resolved from this file.
enum Shared {
    /// The package root: this file is `Tests/SRGNNCLITests/Support.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let root = ProcessInfo.processInfo.environment["SRGNN_SHARED"] ?? packageRoot + "/../shared"

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static let digineticaSampleLog = root + "/data/diginetica/train-item-views.sample.csv"
    static let digineticaFixture = root + "/fixtures/preprocess/diginetica-sample"
}

/// Why the `srgnn` executable could not be run.
struct ExecutableNotFound: Error, CustomStringConvertible {
    let description: String
}

/// The `srgnn` executable that SwiftPM built for this test run, found beside the test bundle (the
/// products folder, e.g. `.build/debug`). When it is missing it is built once with
/// `swift build --product srgnn`; if that fails too, every test that needs it fails (never skips).
enum Executable {
    static let name = "srgnn"

    /// The products folder: where the running test bundle (`srgnnPackageTests.xctest`) lives.
    static var productsFolder: URL {
        var url = Bundle.main.bundleURL
        // On Linux the bundle is the test executable itself; on macOS it is a folder inside the products.
        while url.pathExtension == "xctest" || url.pathExtension == "app" { url.deleteLastPathComponent() }
        if !FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path),
            let argument = CommandLine.arguments.first, argument.contains("/")
        {
            let runner = URL(fileURLWithPath: argument).resolvingSymlinksInPath().deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: runner.appendingPathComponent(name).path) { return runner }
        }
        return url
    }

    /// The executable's path, or why there is none. Resolved once per test process.
    static let resolved: Result<String, ExecutableNotFound> = {
        let candidates = [productsFolder.appendingPathComponent(name).path, Shared.packageRoot + "/.build/debug/" + name]
        if let found = candidates.first(where: isExecutable) { return .success(found) }
        // Not built (e.g. `swift build --build-tests --target SRGNNCLITests`): build it now. The
        // `swift test` that runs us holds the build folder's lock while the tests run (its own build
        // is over by then), so the nested build ignores the lock instead of waiting for us forever.
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        build.arguments = ["swift", "build", "--package-path", Shared.packageRoot, "--product", name, "--ignore-lock"]
        let log = Pipe()
        build.standardOutput = log
        build.standardError = log
        do {
            try build.run()
            let output = log.fileHandleForReading.readDataToEndOfFile()
            build.waitUntilExit()
            guard build.terminationStatus == 0 else {
                return .failure(
                    ExecutableNotFound(description: "swift build --product \(name) failed:\n" + String(decoding: output, as: UTF8.self)))
            }
        } catch {
            return .failure(ExecutableNotFound(description: "cannot run swift build --product \(name): \(error)"))
        }
        if let found = candidates.first(where: isExecutable) { return .success(found) }
        return .failure(
            ExecutableNotFound(
                description: "no \(name) executable in \(candidates.joined(separator: " or ")), even after swift build --product \(name)"))
    }()

    static func isExecutable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The path to run; throws (failing the test) when there is no executable.
    static func path() throws -> String { try resolved.get() }
}

/// Runs `srgnn arguments…` and returns its exit status, standard output and standard error.
func runSRGNN(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    try runProcess(try Executable.path(), arguments)
}

/// Runs `executable arguments…` and returns its exit status, standard output and standard error.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read stderr on another thread so that neither pipe can fill up and block the child.
    let errorData = ErrorReader(error.fileHandleForReading)
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errorData.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Reads a pipe to its end on a background thread.
final class ErrorReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
