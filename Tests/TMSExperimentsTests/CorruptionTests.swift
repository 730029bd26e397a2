import Foundation
import Testing
@testable import TMSExperiments
import TMSModels
import TMSCore

// Randomized corruption (issue 9, "beyond the list"): valid run folders of every model kind and an experiment
// folder, damaged a few thousand times with seeded mutations (truncation, byte flips, safetensors header
// edits of shape, dtype, offsets and names, JSON value swaps, removed and added keys). Every reader must
// either load a consistent run or throw one of our one-line errors: a crash ends the test process, a hang
// trips the time limit, and an inconsistent load fails the invariants below.

/// SplitMix64: a seeded generator local to this test.
private struct Mutator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Odd values for any JSON position.
    mutating func jsonValue() -> Any {
        pick([NSNull(), -1, 0, 1, 7, 0.5, 1e308, -1e308, Int64.max, Int64.min, "nan", "inf", "x", "relu-output", "abs",
              [Any](), [String: Any](), true, [[Any]()], [1, 2], [[0.1, 0.1]], ["a": 1]] as [Any])
    }

    mutating func truncate(_ bytes: [UInt8]) -> [UInt8] { Array(bytes.prefix(below(bytes.count))) }

    mutating func flip(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        for _ in 0...below(4) where !out.isEmpty { out[below(out.count)] ^= UInt8(1 + below(255)) }
        return out
    }

    /// A JSON document with one structural edit at a random position.
    mutating func editJSON(_ bytes: [UInt8]) -> [UInt8] {
        guard var root = try? JSONSerialization.jsonObject(with: Data(bytes)) else { return flip(bytes) }
        var paths: [[Any]] = [[]]
        collect(root, path: [], into: &paths)
        let path = pick(paths)
        root = edit(root, path: path[...])
        return (try? [UInt8](JSONSerialization.data(withJSONObject: root, options: [.fragmentsAllowed]))) ?? bytes
    }

    private func collect(_ node: Any, path: [Any], into paths: inout [[Any]]) {
        if let d = node as? [String: Any] {
            // Sorted: dictionary order varies between processes, and the mutations must not.
            for k in d.keys.sorted() { paths.append(path + [k]); collect(d[k]!, path: path + [k], into: &paths) }
        } else if let a = node as? [Any] {
            for (i, v) in a.enumerated() { paths.append(path + [i]); collect(v, path: path + [i], into: &paths) }
        }
    }

    private mutating func edit(_ node: Any, path: ArraySlice<Any>) -> Any {
        if let key = path.first as? String, var d = node as? [String: Any], let child = d[key] {
            if path.count == 1 {
                switch below(4) {
                case 0: d[key] = nil
                case 1: d["unknown\(below(100))"] = jsonValue()
                case 2: d[key] = d[pick(d.keys.sorted())]
                default: d[key] = jsonValue()
                }
            } else {
                d[key] = edit(child, path: path.dropFirst())
            }
            return d
        }
        if let index = path.first as? Int, var a = node as? [Any], index < a.count {
            if path.count == 1 {
                switch below(4) {
                case 0: a.remove(at: index)
                case 1: a.append(a[index])
                case 2: a.swapAt(index, below(a.count))
                default: a[index] = jsonValue()
                }
            } else {
                a[index] = edit(a[index], path: path.dropFirst())
            }
            return a
        }
        return node
    }

    /// A safetensors file with its header's shape, dtype, offsets, names or length edited.
    mutating func editSafetensors(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 8 else { return bytes }
        let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        if below(6) == 0 {  // the length prefix itself
            var out = bytes
            let length = pick([0, n - 1, n + 8, bytes.count, Int(Int32.max), Int.max])
            for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(length)) >> (8 * UInt64(i))) }
            return out
        }
        guard 8 + n <= bytes.count, var header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any],
              let name = header.keys.sorted().randomElement(using: &self) else { return flip(bytes) }
        var entry = header[name] as? [String: Any] ?? [:]
        switch below(8) {
        case 0:
            var shape = entry["shape"] as? [Int] ?? []
            if shape.isEmpty { shape = [1] }
            let i = below(shape.count)
            shape[i] = pick([-1, 0, 1, shape[i] + 1, shape[i] - 1, 1 << 31, 1 << 62, Int.max])
            entry["shape"] = shape
        case 1:
            var shape = entry["shape"] as? [Int] ?? []
            if below(2) == 0, !shape.isEmpty { shape.removeLast() } else { shape.append(pick([1, 2, 3])) }
            entry["shape"] = shape
        case 2: entry["dtype"] = pick(["F16", "F64", "I32", "BF16", "f32", "", "F32"] as [Any] + [7])
        case 3:
            var offsets = entry["data_offsets"] as? [Int] ?? [0, 0]
            let i = below(2)
            offsets[i] = pick([offsets[i] + 4, offsets[i] - 4, -8, Int.max, 1 << 40, offsets[1 - i]])
            entry["data_offsets"] = below(5) == 0 ? [offsets[0]] : offsets
        case 4: header[name] = nil
        case 5: header["W\(below(3))"] = ["dtype": "F32", "shape": [1], "data_offsets": [0, 4]]
        case 6: header[name] = nil; header[pick(["W", "W1", "W2", "b_final", "step", "bias"])] = entry
        default: header["__metadata__"] = pick([["model": "abs"], ["model": "linear"], ["model": 3], "x"] as [Any])
        }
        if header[name] != nil, !entry.isEmpty, name != "__metadata__" { header[name] = entry }
        guard var json = try? [UInt8](JSONSerialization.data(withJSONObject: header)) else { return bytes }
        while json.count % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + bytes[(8 + n)...]
    }
}

extension Mutator: RandomNumberGenerator {}

/// Writes `bytes` as a new file at `url` (unlink, then create: rewriting a file in place makes ext4 flush it,
/// about 8 ms a write, which would dominate this test).
private func replaceContents(of url: URL, with bytes: [UInt8]) throws {
    unlink(url.path)
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    try #require(fd >= 0)
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    try #require(written == bytes.count)
}

/// Our error types: the only errors a reader may throw.
private func isOurError(_ error: Error) -> Bool {
    error is RunFolderError || error is WeightsFileError || error is ConfigError || error is SafetensorsError
}

/// What a successful load must satisfy: every table has the shape the (valid) config implies.
private func expectConsistent(_ run: TrainedRun, sourceLocation: SourceLocation = #_sourceLocation) {
    let c = run.config
    #expect((try? c.validate()) != nil, sourceLocation: sourceLocation)
    let w = run.weights
    #expect(w.model == c.model && w.instanceCount == c.instanceCount && w.featureCount == c.featureCount
            && w.hiddenCount == c.hiddenCount, sourceLocation: sourceLocation)
    #expect(w.W.count == c.instanceCount * c.hiddenCount * c.featureCount && w.bias.count == c.instanceCount * c.featureCount,
            sourceLocation: sourceLocation)
    #expect(w.W.allSatisfy(\.isFinite) && w.bias.allSatisfy(\.isFinite), sourceLocation: sourceLocation)
    #expect(run.metrics.finalLoss.count == c.instanceCount && run.metrics.instances.count == c.instanceCount,
            sourceLocation: sourceLocation)
    let analysis = RunMetrics.analyse(w)
    #expect(analysis.count == c.instanceCount && analysis.allSatisfy { $0.featureNorms.count == c.featureCount },
            sourceLocation: sourceLocation)
}

@Suite("Damaged run folders are loaded consistently or refused with our errors")
struct CorruptionTests {
    /// No `.timeLimit`: its clock would count the wait for a worker of the cooperative pool, which other suites
    /// hold for minutes on 2 cores; the slowest single read is bounded below instead.
    @Test func randomMutationsNeverCrashHangOrLoadAnInconsistentRun() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var folders: [URL] = []
        for model in ModelKind.allCases {
            folders.append(try writeRun(try tinyRun(model, bestOf: 2), in: dir, name: model.rawValue))
        }
        let experiment = dir.appendingPathComponent("intro")
        _ = try ExperimentRunner.run(IntroExperiment(), options: ExperimentOptions(quick: true, seed: 0, steps: 4, threads: 2),
                                     out: experiment) { _, _ in }
        let runFiles = ["config.json", "weights.safetensors", "metrics.json"]
        let experimentFiles = ["experiment.json", "snapshots.safetensors", "model/config.json", "model/weights.safetensors",
                               "model/metrics.json"]

        var rng = Mutator(state: 2022)
        var loaded = 0, refused = 0, slowest = 0.0, experimentTime = 0.0, runTime = 0.0
        let start = Date()
        let mutations = 3000
        for i in 0..<mutations {
            let isExperiment = i % 10 == 9
            let folder = isExperiment ? experiment : folders[i % folders.count]
            let file = folder.appendingPathComponent(rng.pick(isExperiment ? experimentFiles : runFiles))
            let original = [UInt8](try Data(contentsOf: file))
            let mutated: [UInt8]
            switch rng.below(4) {
            case 0: mutated = rng.truncate(original)
            case 1: mutated = rng.flip(original)
            default: mutated = file.pathExtension == "json" ? rng.editJSON(original) : rng.editSafetensors(original)
            }
            try replaceContents(of: file, with: mutated)
            let t0 = Date()
            do {
                if isExperiment {
                    let (recipe, record, data) = try ExperimentRunner.load(folder)
                    expectConsistent(try data.part("model"))
                    // The analysis of a loaded folder must not trap either (it is what `tms report` runs).
                    _ = try recipe.analyse(data, options: record.options)
                } else {
                    expectConsistent(try TrainedRun.load(from: folder))
                }
                loaded += 1
            } catch {
                #expect(isOurError(error), "mutation \(i) of \(file.lastPathComponent): unexpected \(type(of: error)): \(error)")
                let line = String(describing: error)
                #expect(!line.isEmpty && !line.contains("\n") && !line.contains("correct format"),
                        "mutation \(i) of \(file.lastPathComponent): \(line)")
                refused += 1
            }
            slowest = max(slowest, Date().timeIntervalSince(t0))
            if isExperiment { experimentTime += Date().timeIntervalSince(t0) } else { runTime += Date().timeIntervalSince(t0) }
            try replaceContents(of: file, with: original)
        }
        #expect(loaded + refused == mutations)
        // Each read is bounded by the file sizes (a few KB): none may take long.
        #expect(slowest < 5, "slowest read \(slowest) s")
        // Most mutations must be caught; some (a changed seed, learning rate) load a consistent run.
        #expect(refused > mutations / 2, "only \(refused) of \(mutations) mutations refused")
        print("corruption: \(mutations) mutations, \(refused) refused, \(loaded) loaded consistently, slowest read \(String(format: "%.3f", slowest)) s, reading runs \(String(format: "%.1f", runTime)) s, experiments \(String(format: "%.1f", experimentTime)) s, \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}
