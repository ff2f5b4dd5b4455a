import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Batch progress on stderr: on a terminal one line redrawn at most five times a second,
/// elsewhere a plain line every ten seconds; notes (skipped lines) on lines of their own; a summary.
public final class BatchProgress {
    let interactive = isatty(STDERR_FILENO) != 0
    private var lastDraw = 0.0
    private var drawn = false

    public init() {}

    public func update(sessions: Int, seconds: Double) {
        guard seconds - lastDraw >= (interactive ? 0.2 : 10) else { return }
        lastDraw = seconds
        let line = String(format: "%d sessions, %.0f sessions/s", sessions, Double(sessions) / max(seconds, 1e-9))
        if interactive {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    public func note(_ message: String) {
        clear()
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    public func finish(_ summary: BatchRecommendation.Summary) {
        clear()
        let skipped =
            summary.skipped > BatchRecommendation.quotedInvalidLines
            ? " (\(summary.skipped - BatchRecommendation.quotedInvalidLines) more not shown)" : ""
        FileHandle.standardError.write(
            Data(
                String(
                    format: "%d sessions, %d skipped%@, %d unknown items, %d sessions with no known item, %.1f s, %.0f sessions/s\n",
                    summary.sessions, summary.skipped, skipped, summary.unknownItems, summary.sessionsWithoutKnownItems,
                    summary.seconds, Double(summary.sessions) / max(summary.seconds, 1e-9)
                ).utf8))
    }

    private func clear() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }
}
