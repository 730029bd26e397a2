import Foundation
import Testing
@testable import TMSExperiments
import TMSModels

// SweepRunner.swift: packs are written as they complete and skipped on rerun, a changed spec is refused, and
// the merge of any number of shards equals the unsharded run bit for bit (docs/sweeps.md).

/// 2 × 2 × 2 = 8 tiny cells (5 features, 30 steps) in 4 packs: for each hiddenCount, runs of 3 and 1.
let tinySweepText = """
{"name": "tiny",
 "base": {"featureCount": 5, "steps": 30, "batchSize": 64, "lossLogPoints": 4, "evaluationBatches": 1},
 "axes": [{"field": "hiddenCount", "values": [2, 3]},
          {"field": "featureProbability", "log": {"from": 1, "to": 0.3, "count": 2}}],
 "seeds": [0, 1], "maxInstances": 3}
"""

/// Every regular file under `folder`, relative path → bytes.
func folderContents(_ folder: URL) throws -> [String: Data] {
    let root = folder.standardizedFileURL.path
    var files: [String: Data] = [:]
    let items = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]))
    for case let item as URL in items where (try item.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        files[String(item.standardizedFileURL.path.dropFirst(root.count + 1))] = try Data(contentsOf: item)
    }
    return files
}

@Suite("Sweeps: resume, shards and merge")
struct SweepRunnerTests {
    @Test func mergedShardsEqualTheUnshardedRunBitForBit() throws {
        let spec = try parseSpec(tinySweepText)
        #expect(spec.packs().map(\.cells.count) == [3, 1, 3, 1])
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = dir.appendingPathComponent("whole")
        let summary = try SweepRunner.train(spec, in: whole, threads: 2)
        #expect(summary.trained == ["pack-0000", "pack-0001", "pack-0002", "pack-0003"] && summary.missing.isEmpty)
        let results = try SweepRunner.finish(spec, in: whole)
        let reference = try folderContents(whole)
        let packFiles: [String] = (0..<4).flatMap { (j: Int) -> [String] in
            ["cells.json", "config.json", "metrics.json", "weights.safetensors"].map { "packs/pack-000\(j)/\($0)" }
        }
        let expectedFiles: [String] = ["figures/dimensions-per-feature.svg", "figures/features-per-dimension.svg", "figures/final-loss.svg"]
            + packFiles + ["report.html", "results.csv", "results.json", "sweep.json"]
        #expect(reference.keys.sorted() == expectedFiles)

        // Three shards in folders of their own (one thread each), merged into a new folder.
        let shards = try (0..<3).map { i -> URL in
            let folder = dir.appendingPathComponent("shard\(i)")
            let s = try SweepRunner.train(spec, in: folder, shard: SweepShard(index: i, count: 3), threads: 1)
            #expect(s.trained == spec.packs().filter { $0.index % 3 == i }.map(\.id))
            return folder
        }
        #expect(sweepErrorLine { try SweepRunner.finish(spec, in: shards[1]) }
                == "\(shards[1].path): 3 of 4 packs are not done (first pack-0000, cells 0–2); run the shards that own them, or `tms sweep SPEC --out \(shards[1].path)` to train what is missing")
        let merged = dir.appendingPathComponent("merged")
        #expect(try SweepRunner.merge(shards, into: merged) == results)
        #expect(try folderContents(merged) == reference)

        // Two shards writing into one shared folder, merged in place.
        let shared = dir.appendingPathComponent("shared")
        for i in 0..<2 { _ = try SweepRunner.train(spec, in: shared, shard: SweepShard(index: i, count: 2), threads: 1) }
        try SweepRunner.merge([shared], into: shared)
        #expect(try folderContents(shared) == reference)

        // The table: one row per cell, in cell order, with the pack's own numbers.
        #expect(results.rows.count == 8)
        #expect(results.column("featureProbability") == [1, 1, 0.3, 0.3, 1, 1, 0.3, 0.3].map { .number($0) })
        #expect(results.column("seed") == [0, 1, 0, 1, 0, 1, 0, 1].map { .number($0) })
        #expect(results.column("pack").map(\.description) == ["pack-0000", "pack-0000", "pack-0000", "pack-0001", "pack-0002", "pack-0002", "pack-0002", "pack-0003"])
        let run = try #require(try SweepRunner.loadPack(whole, spec.packs()[2]))
        #expect(results.column("finalLoss")[5] == .number(Double(String(run.metrics.finalLoss[1]))!))
        #expect(results.column("representedFeatures")[5] == .number(Double(run.metrics.instances[1].representedFeatures)))
        #expect(results.column("dimensionsPerFeature")[5] == .number(run.metrics.instances[1].dimensionsPerFeature))
        // Figures: against the first axis (hiddenCount), one line per value of the second, averaged over seeds.
        let figure = String(decoding: reference["figures/final-loss.svg"]!, as: UTF8.self)
        #expect(figure.contains("tiny: final loss against hiddenCount"))
        #expect(figure.contains("featureProbability=1<") && figure.contains("featureProbability=0.3<"))
        let csv = String(decoding: reference["results.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(csv.count == 9)
        #expect(csv[0] == Substring(results.columns.joined(separator: ",")))
        #expect(csv[3].hasPrefix("2,pack-0000,2,relu-output,5,2,0.3,0.7,0.9,independent,30,64,0.001,constant,0,adam,0,0.9,0.999,1e-08,1,1,4,xavier,1,0,0,ok,"))
    }

    @Test func aKilledSweepResumesTrainingOnlyWhatIsMissing() throws {
        let spec = try parseSpec(tinySweepText)
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("sweep")
        _ = try SweepRunner.train(spec, in: folder, threads: 1)
        try SweepRunner.finish(spec, in: folder)
        let reference = try folderContents(folder)
        // A kill during pack-0001's final write leaves its hidden partial folder; pack-0002 never started.
        let packs = folder.appendingPathComponent("packs")
        try FileManager.default.removeItem(at: packs.appendingPathComponent("pack-0001"))
        try FileManager.default.removeItem(at: packs.appendingPathComponent("pack-0002"))
        let partial = SweepRunner.stagingFolder(folder).appendingPathComponent(".pack-0001.partial-99999999")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try Data("half a safetensors".utf8).write(to: partial.appendingPathComponent("weights.safetensors"))
        for name in ["results.csv", "results.json", "report.html"] { try FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }

        let summary = try SweepRunner.train(spec, in: folder, threads: 1)
        #expect(summary.trained == ["pack-0001", "pack-0002"])
        #expect(summary.skipped == ["pack-0000", "pack-0003"])
        // Its process is gone: removed, never read; and the staging folder is gone once empty.
        #expect(!FileManager.default.fileExists(atPath: partial.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: packs.path).sorted() == (0..<4).map { "pack-000\($0)" })
        try SweepRunner.finish(spec, in: folder)
        #expect(try folderContents(folder) == reference)
        // Nothing left to do: a rerun trains nothing.
        #expect(try SweepRunner.train(spec, in: folder, threads: 1).trained.isEmpty)
    }

    @Test func aFolderStartedWithAnotherSpecIsRefused() throws {
        let spec = try parseSpec(tinySweepText)
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("sweep")
        try SweepRunner.prepare(folder, spec: spec)
        let other = try parseSpec(tinySweepText.replacingOccurrences(of: "\"steps\": 30", with: "\"steps\": 40"))
        #expect(sweepErrorLine { _ = try SweepRunner.train(other, in: folder, threads: 1) }
                == "\(folder.path) was started with another spec (base.steps: 30 in sweep.json, 40 in this spec); rerun with that spec or choose a new --out")
        let reseeded = try parseSpec(tinySweepText.replacingOccurrences(of: "[0, 1]", with: "[0, 2]"))
        #expect(sweepErrorLine { try SweepRunner.prepare(folder, spec: reseeded) }
                == "\(folder.path) was started with another spec (seeds: [0, 1] in sweep.json, [0, 2] in this spec); rerun with that spec or choose a new --out")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("packs").path))
        // A folder that is not a sweep folder is not taken over.
        let stranger = dir.appendingPathComponent("stranger")
        try FileManager.default.createDirectory(at: stranger, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: stranger.appendingPathComponent("notes.txt"))
        #expect(sweepErrorLine { try SweepRunner.prepare(stranger, spec: spec) }
                == "--out: \(stranger.path) exists and is not a sweep folder (it has no sweep.json); choose a new --out")
    }

    @Test func mergeRefusesAPackTwoShardsWroteDifferentlyAndAForeignFolder() throws {
        let spec = try parseSpec(tinySweepText)
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        _ = try SweepRunner.train(spec, in: a, shard: SweepShard(index: 1, count: 2), threads: 1)
        try FileManager.default.copyItem(at: a, to: b)
        let edited = b.appendingPathComponent("packs/pack-0001/metrics.json")
        try (try Data(contentsOf: edited) + Data(" ".utf8)).write(to: edited)
        #expect(sweepErrorLine { try SweepRunner.merge([a, b], into: dir.appendingPathComponent("m")) }
                == "\(b.path)/packs/pack-0001/metrics.json differs from \(dir.path)/m/packs/pack-0001/metrics.json: two shards trained pack-0001 differently (different tms versions?); delete one")
        try FileManager.default.createDirectory(at: a.appendingPathComponent("packs/pack-0099"), withIntermediateDirectories: true)
        #expect(sweepErrorLine { try SweepRunner.merge([a], into: dir.appendingPathComponent("n")) }
                == "\(a.path)/packs/pack-0099 is not a pack of this sweep (it has 4 packs, pack-0000…)")
    }

    @Test func aDivergedPackIsRecordedNotFatalAndNotRetrained() throws {
        // lr = 10⁶ blows Adam's steps up: the final loss ends ~10²¹, far above 10× the first step's.
        let text = tinySweepText.replacingOccurrences(of: "{\"field\": \"hiddenCount\", \"values\": [2, 3]}",
                                                      with: "{\"field\": \"learningRate\", \"values\": [0.001, 1e6]}")
        let spec = try parseSpec(text)
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("sweep")
        let summary = try SweepRunner.train(spec, in: folder, threads: 1)
        #expect(summary.diverged == ["pack-0002", "pack-0003"])
        let record = try String(contentsOf: folder.appendingPathComponent("packs/pack-0002/diverged.json"), encoding: .utf8)
        #expect(record.contains("training diverged: the final loss of instance 0 after 30 steps is"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("packs/pack-0002/weights.safetensors").path))
        let results = try SweepRunner.finish(spec, in: folder)
        #expect(results.column("status").map(\.description) == ["ok", "ok", "ok", "ok", "diverged", "diverged", "diverged", "diverged"])
        #expect(results.column("finalLoss")[..<4].allSatisfy { ($0.number ?? .nan).isFinite })
        #expect(results.column("finalLoss")[4...].allSatisfy { $0.number?.isNaN == true })
        #expect(String(decoding: try Data(contentsOf: folder.appendingPathComponent("results.csv")), as: UTF8.self)
                    .split(separator: "\n")[5].hasSuffix(",diverged,nan,nan,nan,nan"))
        #expect(try SweepRunner.train(spec, in: folder, threads: 1).trained.isEmpty)
    }
}
