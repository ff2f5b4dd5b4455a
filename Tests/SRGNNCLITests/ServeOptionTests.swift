import ArgumentParser
import Testing
@testable import SRGNNCLI

/// `srgnn serve`'s A/B flags: parsed before any model loads, mistakes named in the message.
@Suite("srgnn serve options")
struct ServeOptionTests {
    @Test func variantsAndSplitParse() throws {
        let command = try ServeCommand.parse([
            "--model", "a=A.safetensors", "--model", "b=B.safetensors", "--split", "a=90,b=10",
            "--events-log", "events.jsonl",
        ])
        #expect(command.model == ["a=A.safetensors", "b=B.safetensors"] && command.split == "a=90,b=10")
        #expect(command.eventsLog == "events.jsonl")
        #expect(try ServeCommand.parse(["--model", "model.safetensors"]).model == ["model.safetensors"])
    }

    /// Issue 29's flags reach the configuration; out-of-range values are refused naming the flag.
    @Test func hardeningFlagsParse() throws {
        let command = try ServeCommand.parse([
            "--model", "m", "--events-key-file", "key", "--max-connections-per-client", "7",
            "--max-events-per-second", "50", "--min-reload-overlap", "0.25",
        ])
        #expect(command.eventsKeyFile == "key")
        let configuration = command.serving.configuration
        #expect(
            configuration.maxConnectionsPerClient == 7 && configuration.maxEventsPerSecond == 50 && configuration.minReloadOverlap == 0.25)
        for (flag, value) in [("--max-connections-per-client", "0"), ("--max-events-per-second", "0"), ("--min-reload-overlap", "1.5")] {
            do {
                _ = try ServeCommand.parse(["--model", "m", flag, value])
                Issue.record("\(flag) \(value) was accepted")
            } catch {
                #expect(ServeCommand.message(for: error).contains(flag))
            }
        }
    }

    @Test(arguments: [
        ([], "--model PATH"),
        (["--model", "a=A", "--model", "b=B", "--split", "a=1,c=2"], "c is not a variant; the variants are a, b"),
        (["--model", "a=A", "--model", "b=B", "--split", "a=1"], "gives no weight to b"),
        (["--model", "a=A", "--model", "a=B"], "\"a\" is given twice"),
        (["--model", "a=A", "--model", "B"], "--model B has no name"),
        (["--model", "a=A", "--model", "b=B", "--split", "a=x,b=1"], "non-negative integer, got \"x\""),
    ])
    func mistakesAreNamed(arguments: [String], message: String) {
        do {
            _ = try ServeCommand.parse(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            let text = ServeCommand.message(for: error)
            #expect(text.contains(message), "\(text)")
        }
    }
}
