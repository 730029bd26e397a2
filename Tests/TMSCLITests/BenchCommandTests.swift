import Foundation
import Testing

// `tms bench`: its one-line errors, and the whole-process configurations T, S and U on a tiny step scale
// (the numbers they time are not checked here, only what is timed and how it is reported: timings belong
// to `tms bench` runs, never to tests).

private func scratch() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tms-bench-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite(.serialized) struct BenchCommandTests {
    @Test func badOptionsAreOneLineErrors() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [([String], String)] = [
            (["--repeats", "0"], "tms: error: --repeats 0 is invalid; it must be a positive integer"),
            (["--configs", "S"], "tms: error: --configs S needs T (the SAE trains on T's run); give T,S"),
            (["--configs", "A,Q"], "tms: error: --configs Q is invalid; choose from A,B,C,D,E,F,T,S,U"),
        ]
        for (arguments, message) in cases {
            let result = try runTMS(["bench"] + arguments, in: dir)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").map(String.init) == [message])
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func wholeProcessesAreTimedBestOfRepeats() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Step scale 0.002: T trains 3 steps (1,500 × 0.002), S 1 step (500 × 0.002 rounds to 1), U 10 (5,000 × 0.002).
        let result = try runTMS(["bench", "--configs", "T,S,U", "--step-scale", "0.002", "--repeats", "2", "--json", "--threads", "1"],
                                in: dir, deadline: 300)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.map { $0["configuration"] as? String } == ["T", "S", "U"])
        #expect(rows.map { $0["instanceSteps"] as? Int } == [8 * 3, 8 * 1, 10 * 10])
        for row in rows {
            let all = try #require(row["allSeconds"] as? [Double])
            let seconds = try #require(row["seconds"] as? Double)
            #expect(all.count == 2)
            #expect(seconds == all.min())
            #expect(row["pytorchSeconds"] == nil)
        }
        #expect((rows.first?["command"] as? String)?.hasPrefix("tms train --features 400 --hidden 30 --instances 8") == true)
        #expect((rows.last?["command"] as? String)?.hasPrefix("tms train --steps 10 --threads 1") == true)
    }
}
