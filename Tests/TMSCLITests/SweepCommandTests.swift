import Foundation
import Testing

// End to end: `tms sweep SPEC --out DIR`, `--shard i/N`, `tms sweep merge`, resume, and one-line errors
// (docs/sweeps.md). This target links no library of ours, so files are compared as bytes.

/// 2 hidden sizes × 2 densities × 2 seeds = 8 tiny cells in 4 packs (maxInstances 2).
private let spec = """
{"name": "cli", "base": {"featureCount": 4, "steps": 20, "batchSize": 32, "lossLogPoints": 3, "evaluationBatches": 1},
 "axes": [{"field": "hiddenCount", "values": [1, 2]}, {"field": "featureProbability", "values": [1, 0.5]}],
 "seeds": [0, 1], "maxInstances": 2}
"""

private func contents(_ folder: URL) throws -> [String: Data] {
    let root = folder.standardizedFileURL.path
    var files: [String: Data] = [:]
    let items = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]))
    for case let item as URL in items where (try item.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        files[String(item.standardizedFileURL.path.dropFirst(root.count + 1))] = try Data(contentsOf: item)
    }
    return files
}

@Suite("tms sweep end to end")
struct SweepCommandTests {
    @Test func shardsMergedEqualTheWholeSweepAndARerunResumes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(spec.utf8).write(to: dir.appendingPathComponent("spec.json"))
        let whole = try runTMS(["sweep", "spec.json", "--out", "whole", "--threads", "1"], in: dir)
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stdoutLines.first == dir.appendingPathComponent("whole").path)
        #expect(whole.stdoutLines.dropFirst().first == "4 packs trained, 0 already done; 8 cells in 4 packs")
        let csv = try String(contentsOf: dir.appendingPathComponent("whole/results.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 9)
        #expect(csv.hasPrefix("cell,pack,instance,model,featureCount,hiddenCount,featureProbability,sparsity,"))

        for i in 0..<2 {
            let shard = try runTMS(["sweep", "spec.json", "--out", "s\(i)", "--shard", "\(i)/2", "--threads", "1", "--quiet"], in: dir)
            #expect(shard.status == 0, "\(shard.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s\(i)/results.csv").path))
        }
        let merge = try runTMS(["sweep", "merge", "s0", "s1", "--out", "merged"], in: dir)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(merge.stdoutLines.dropFirst().first?.hasPrefix("8 cells merged; results: ") == true)
        #expect(try contents(dir.appendingPathComponent("merged")) == contents(dir.appendingPathComponent("whole")))

        // Rerun after losing a pack: only that pack trains, and the results are the same bytes.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("whole/packs/pack-0002"))
        let rerun = try runTMS(["sweep", "spec.json", "--out", "whole", "--threads", "1"], in: dir)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdoutLines.dropFirst().first == "1 packs trained, 3 already done; 8 cells in 4 packs")
        #expect(try contents(dir.appendingPathComponent("merged")) == contents(dir.appendingPathComponent("whole")))
    }

    @Test func errorsAreOneLineWithStatusTwo() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"axes": [{"field": "hiddenCount", "values": [2, 0]}]}"#.utf8).write(to: dir.appendingPathComponent("bad.json"))
        try Data(spec.utf8).write(to: dir.appendingPathComponent("spec.json"))
        let cases: [([String], String)] = [
            (["sweep", "bad.json", "--out", "x"],
             "tms: error: bad.json: cell 1 (hiddenCount=0, seed=0): --hidden / hiddenCount: 0 is invalid; it must be an integer in 1...16777216"),
            (["sweep", "spec.json", "--out", "x", "--shard", "2/2"], "tms: error: --shard: the index 2 is invalid; it must be in 0..<2 (shards count from 0)"),
            (["sweep", "spec.json", "--out", "x", "--shard-count", "3"],
             "tms: error: --shard-count 3 was given but no shard index: set JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, or use --shard i/N"),
            (["sweep", "merge", "a", "b"], "tms: error: sweep merge: --out is required with 2 folders (the merged folder: new, or one of them)"),
            (["sweep", "merge", "nothing"], "tms: error: \(dir.appendingPathComponent("nothing").path) is not a sweep folder: it has no sweep.json"),
        ]
        for (arguments, expected) in cases {
            let outcome = try runTMS(arguments, in: dir)
            #expect(outcome.status == 2)
            #expect(outcome.stderrLines == [expected])
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path))
    }
}
