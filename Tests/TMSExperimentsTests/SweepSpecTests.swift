import Foundation
import Testing
@testable import TMSExperiments
import TMSModels

// SweepSpec.swift: a sweep spec is checked key by key (every error one line naming the key and what is
// allowed), crossed into a grid in a fixed order, packed into runs, and sliced into shards (docs/sweeps.md).

/// Parses spec text as a file would be read.
func parseSpec(_ text: String) throws -> SweepSpec {
    try SweepSpec.parse(JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
}

/// The one line a sweep spec, shard or folder error says, or nil.
func sweepErrorLine(_ body: () throws -> Void) -> String? {
    do { try body() } catch let e as SweepError { return e.description } catch let e as RunFolderError { return e.description } catch {
        return "unexpected error type \(type(of: error)): \(error)"
    }
    return nil
}

@Suite("Sweep specs: parsing, grid and packing")
struct SweepSpecTests {
    @Test func gridCrossesAxesInOrderWithTheSeedFastest() throws {
        let spec = try parseSpec("""
        {"base": {"featureCount": 6, "steps": 10},
         "axes": [{"field": "featureProbability", "log": {"from": 1, "to": 0.01, "count": 3}},
                  {"field": "model", "values": ["linear", "relu-output"]}],
         "seeds": [4, 7]}
        """)
        let cells = spec.cells()
        #expect(cells.count == 12)
        #expect(cells.map(\.seed) == [4, 7, 4, 7, 4, 7, 4, 7, 4, 7, 4, 7])
        #expect(cells.map { $0.value(.model).description } == (0..<12).map { $0 / 2 % 2 == 0 ? "linear" : "relu-output" })
        let p = cells.map(\.featureProbability)
        #expect(p[0] == 1 && p[4] == pow(0.01, 0.5) && p[8] == 0.01)
        #expect(Swift.abs(p[4] - 0.1) < 1e-15)
        #expect(cells[5].config().featureCount == 6 && cells[5].config().steps == 10 && cells[5].config().seed == 7)
        #expect(cells[5].config().hiddenCount == 2)  // unset fields take tms train's defaults
        #expect(cells[5].config().importance[0][2] == Float(pow(Double(Float(0.9)), 2)))  // I_i = R^i as TrainingConfig.standard computes it
    }

    @Test func integerLogRangesRoundAndLinearRangesIncludeBothEnds() throws {
        let spec = try parseSpec("""
        {"axes": [{"field": "hiddenCount", "log": {"from": 2, "to": 32, "count": 5}},
                  {"field": "learningRate", "linear": {"from": 0.001, "to": 0.003, "count": 3}}], "base": {"featureCount": 40}}
        """)
        #expect(spec.axes[0].points == [2, 4, 8, 16, 32].map { .number($0) })
        #expect(spec.axes[1].points == [0.001, 0.002, 0.003].map { .number($0) })
        #expect(spec.cells().count == 15)
    }

    @Test func cellsThatDifferOnlyPerInstanceSharePacksOfAtMostMaxInstances() throws {
        let text = """
        {"axes": [{"field": "hiddenCount", "values": [2, 3]}, {"field": "sparsity", "values": [0, 0.5, 0.9]}],
         "seeds": [5, 6], "maxInstances": 4%@}
        """
        let packed = try parseSpec(text.replacingOccurrences(of: "%@", with: ""))
        let packs = packed.packs()
        // Each hiddenCount has 3 sparsities × 2 seeds = 6 cells: runs of 4 and 2.
        #expect(packs.map { $0.cells.map(\.index) } == [[0, 1, 2, 3], [4, 5], [6, 7, 8, 9], [10, 11]])
        let c = packs[2].config
        #expect(c.instanceCount == 4 && c.hiddenCount == 3 && c.seed == 5)
        #expect(c.featureProbability.map { $0[0] } == [1, 1, 0.5, 0.5])
        #expect(packs[3].config.featureProbability.map { $0[0] } == [Float(1 - 0.9), Float(1 - 0.9)])
        #expect(packs.map(\.id) == ["pack-0000", "pack-0001", "pack-0002", "pack-0003"])

        let single = try parseSpec(text.replacingOccurrences(of: "%@", with: ", \"pack\": false")).packs()
        #expect(single.count == 12)
        #expect(single.allSatisfy { $0.config.instanceCount == 1 })
        #expect(single.map(\.config.seed) == Array(repeating: [5, 6] as [UInt64], count: 6).flatMap { $0 })
        #expect(single[3].config == packed.cells()[3].config())
    }

    static let allowedFields = SweepField.allowedList

    @Test(arguments: [
        ("[1]", "spec: the spec must be a JSON object"),
        (#"{"bse": {}}"#, "spec: unknown key 'bse'; allowed: name, base, axes, seeds, maxInstances, pack"),
        (#"{"name": ""}"#, "spec: name: '' is invalid; it must be a non-empty string"),
        (#"{"base": [1]}"#, "spec: base must be an object of field: value"),
        (#"{"base": {"foo": 1}}"#, "spec: base.foo: 'foo' is not a sweep field; allowed: \(allowedFields)"),
        (#"{"base": {"seed": 1}}"#, "spec: base.seed: set seeds with the top-level \"seeds\" list"),
        (#"{"base": {"instanceCount": 4}}"#, "spec: base.instanceCount: cannot be set; a run's instances are the sweep's packed cells (see maxInstances)"),
        (#"{"base": {"importance": [1]}}"#, "spec: base.importance: give importanceDecay (I_i = R^i) instead"),
        (#"{"base": {"model": "mlp"}}"#, "spec: base.model: 'mlp' is not one of linear, relu-output, relu-hidden, abs"),
        (#"{"base": {"hiddenCount": 2.5}}"#, "spec: base.hiddenCount: 2.5 is invalid; hiddenCount takes an integer"),
        (#"{"base": {"learningRate": "fast"}}"#, "spec: base.learningRate: 'fast' is invalid; learningRate takes a number"),
        (#"{"axes": {}}"#, "spec: axes must be a list of {\"field\": …, \"values\" | \"log\" | \"linear\": …}"),
        (#"{"axes": [3]}"#, "spec: axes[0] must be an object {\"field\": …, \"values\" | \"log\" | \"linear\": …}"),
        (#"{"axes": [{"values": [1]}]}"#, "spec: axes[0].field is missing; it names the swept field (\(allowedFields))"),
        (#"{"axes": [{"field": "steps", "value": [1]}]}"#, "spec: axes[0]: unknown key 'value'; allowed: field, values, log, linear"),
        (#"{"axes": [{"field": "steps"}]}"#, "spec: axes[0] (steps) must have exactly one of 'values', 'log', 'linear'; it has none"),
        (#"{"axes": [{"field": "steps", "values": [1], "log": {"from": 1, "to": 2, "count": 2}}]}"#,
         "spec: axes[0] (steps) must have exactly one of 'values', 'log', 'linear'; it has values and log"),
        (#"{"axes": [{"field": "steps", "values": []}]}"#, "spec: axes[0].values is empty; list at least one value"),
        (#"{"axes": [{"field": "steps", "values": 3}]}"#, "spec: axes[0].values must be a list"),
        (#"{"axes": [{"field": "seed", "values": [1]}]}"#, "spec: axes[0].field: set seeds with the top-level \"seeds\" list"),
        (#"{"axes": [{"field": "steps", "values": [10, -1]}]}"#,
         "spec: cell 1 (steps=-1, seed=0): --steps / steps: -1 is invalid; it must be an integer in 1...1000000000"),
        (#"{"axes": [{"field": "featureProbability", "log": {"from": 0, "to": 1, "count": 3}}]}"#,
         "spec: axes[0].log: from 0.0 and to 1.0 must both be > 0 on a log scale"),
        (#"{"axes": [{"field": "featureProbability", "log": {"from": 1, "to": 0.1, "count": 0}}]}"#,
         "spec: axes[0].log.count must be an integer in 1...1000000"),
        (#"{"axes": [{"field": "featureProbability", "log": {"from": 1, "to": 0.1, "count": 3, "base": 10}}]}"#,
         "spec: axes[0].log: unknown key 'base'; allowed: from, to, count"),
        (#"{"axes": [{"field": "featureProbability", "linear": {"from": 1, "count": 3}}]}"#, "spec: axes[0].linear needs numbers 'from' and 'to'"),
        (#"{"axes": [{"field": "model", "log": {"from": 1, "to": 2, "count": 2}}]}"#,
         "spec: axes[0].log: model is a choice; list its values with 'values'"),
        (#"{"axes": [{"field": "hiddenCount", "log": {"from": 2, "to": 3, "count": 4}}]}"#,
         "spec: axes[0].log: point 1 rounds to 2, which an earlier point already is; use fewer points or a wider range"),
        (#"{"axes": [{"field": "steps", "values": [1]}, {"field": "steps", "values": [2]}]}"#,
         "spec: axes[1].field: steps is already swept by axes[0]; give each field one axis"),
        (#"{"base": {"steps": 5}, "axes": [{"field": "steps", "values": [1]}]}"#,
         "spec: axes[0].field: steps is also set in base; give it in one place"),
        (#"{"base": {"sparsity": 0.5}, "axes": [{"field": "featureProbability", "values": [1]}]}"#,
         "spec: featureProbability and sparsity are both given; give one (S = 1 - p)"),
        (#"{"seeds": []}"#, "spec: seeds must be a non-empty list of integers ≥ 0, e.g. [0, 1, 2]"),
        (#"{"seeds": [1, -2]}"#, "spec: seeds[1]: -2 is invalid; seeds are integers ≥ 0"),
        (#"{"seeds": [3, 3]}"#, "spec: seeds[1]: 3 is listed twice; each seed once"),
        (#"{"maxInstances": 0}"#, "spec: maxInstances: 0 is invalid; it must be an integer in 1...16777216"),
        (#"{"pack": "yes"}"#, "spec: pack: 'yes' is invalid; it must be true or false"),
        (#"{"axes": [{"field": "featureProbability", "values": [0.5, 0]}]}"#,
         "spec: cell 1 (featureProbability=0, seed=0): --feature-probability (or --sparsity) / featureProbability: 0.0 (instance 0, feature 0) is invalid; it must be in (0, 1] (sparsity S = 1 - p in [0, 1))"),
        (#"{"axes": [{"field": "learningRate", "log": {"from": 0.0001, "to": 0.1, "count": 1000}}, {"field": "steps", "linear": {"from": 1, "to": 1000, "count": 1000}}, {"field": "batchSize", "values": [1, 2]}]}"#,
         "spec: the grid has 2000000 cells; at most 1000000 are allowed (split the sweep into several specs)"),
    ])
    func everyBadSpecIsOneLineNamingTheKey(_ text: String, _ expected: String) {
        #expect(sweepErrorLine { _ = try parseSpec(text) } == expected)
    }

    @Test func aMissingOrBrokenSpecFileIsOneLine() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("s.json")
        #expect(sweepErrorLine { _ = try SweepSpec.read(from: file) } == "\(file.path) does not exist")
        try Data("{\"axes\": [".utf8).write(to: file)
        #expect(sweepErrorLine { _ = try SweepSpec.read(from: file) }?.hasPrefix("\(file.path) is not valid JSON") == true)
        try Data(#"{"seeds": [0.5]}"#.utf8).write(to: file)
        #expect(sweepErrorLine { _ = try SweepSpec.read(from: file) } == "s.json: seeds[0]: 0.5 is invalid; seeds are integers ≥ 0")
    }
}

@Suite("Sweep shards: --shard, Slurm arrays and Kubernetes Indexed Jobs")
struct SweepShardTests {
    @Test func shardsSplitThePacksDisjointlyAndCompletely() throws {
        let spec = try parseSpec(#"{"axes": [{"field": "hiddenCount", "values": [1, 2, 3, 4, 5, 6, 7]}]}"#)
        let shards = try (0..<3).map { try SweepShard(index: $0, count: 3) }
        let owned = shards.map { shard in spec.packs().filter(shard.owns).map(\.index) }
        #expect(owned == [[0, 3, 6], [1, 4], [2, 5]])
    }

    @Test(arguments: [
        ("2/4", "2/4"), ("0/1", "0/1"),
        ("4/4", "--shard: the index 4 is invalid; it must be in 0..<4 (shards count from 0)"),
        ("1/0", "--shard: the shard count 0 is invalid; it must be an integer in 1...1000000"),
        ("1-4", "--shard: '1-4' is invalid; write INDEX/COUNT, e.g. 0/4 (shards count from 0)"),
    ])
    func shardFlagParses(_ text: String, _ expected: String) {
        var parsed: String?
        let error = sweepErrorLine { parsed = try SweepShard.parse(text).description }
        #expect((parsed ?? error) == expected)
    }

    @Test(arguments: [
        ([:], nil as Int?, "none"),
        (["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"], nil, "3/4"),
        // --array=1-4: ids 1…4 are shards 0…3.
        (["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"], nil, "3/4"),
        // --array=0-8:4 gives ids 0, 4, 8.
        (["SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "4"], nil, "2/3"),
        (["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"], 2, "1/2"),
        (["SLURM_ARRAY_TASK_ID": "1"], nil, "SLURM_ARRAY_TASK_ID is set (1) but SLURM_ARRAY_TASK_COUNT is not; pass --shard-count N or --shard 1/N"),
        (["JOB_COMPLETION_INDEX": "2"], 5, "2/5"),
        (["JOB_COMPLETION_INDEX": "2", "TMS_SHARD_COUNT": "5"], nil, "2/5"),
        (["JOB_COMPLETION_INDEX": "2"], nil,
         "JOB_COMPLETION_INDEX is set (2) but the shard count is not; pass --shard-count N (the Job's completions) or set TMS_SHARD_COUNT"),
        (["JOB_COMPLETION_INDEX": "7", "TMS_SHARD_COUNT": "5"], nil, "--shard: the index 7 is invalid; it must be in 0..<5 (shards count from 0)"),
        (["JOB_COMPLETION_INDEX": "x", "TMS_SHARD_COUNT": "5"], nil, "JOB_COMPLETION_INDEX='x' is invalid; it must be an integer ≥ 0"),
        (["JOB_COMPLETION_INDEX": "1", "TMS_SHARD_COUNT": "0"], nil, "TMS_SHARD_COUNT='0' is invalid; it must be an integer ≥ 1"),
    ] as [([String: String], Int?, String)])
    func theEnvironmentNamesTheShard(_ env: [String: String], _ count: Int?, _ expected: String) {
        var found: String?
        let error = sweepErrorLine { found = try SweepShard.fromEnvironment(env, countOverride: count)?.description ?? "none" }
        #expect((found ?? error) == expected)
    }
}
