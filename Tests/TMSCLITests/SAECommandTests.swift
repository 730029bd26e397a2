import Foundation
import Testing

// End to end: `tms sae` on a tiny toy run, its one-line errors, and `tms run sae --quick`.
// This target links no library of ours, so the files are checked with Foundation alone.

private func tms(_ arguments: [String], in directory: URL) throws -> (status: Int32, stdout: String, stderr: String) {
    let outcome = try runTMS(arguments, in: directory)
    return (outcome.status, outcome.stdout, outcome.stderr)
}

private func scratch() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tms-sae-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Tensor shapes from a safetensors header.
private func safetensorShapes(_ url: URL) throws -> [String: [Int]] {
    let bytes = [UInt8](try Data(contentsOf: url))
    try #require(bytes.count >= 8)
    let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
    var shapes: [String: [Int]] = [:]
    for (name, entry) in header where name != "__metadata__" {
        shapes[name] = (entry as? [String: Any])?["shape"] as? [Int]
    }
    return shapes
}

private let tinyModel = ["train", "--features", "5", "--hidden", "2", "--instances", "2", "--feature-probability", "0.05",
                         "--steps", "100", "--batch-size", "64", "--out", "model", "--quiet", "--no-report"]

@Suite(.serialized) struct SAECommandTests {
    @Test func saeWritesARunFolderWithARENAShapes() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try tms(tinyModel, in: dir).status == 0)
        let result = try tms(["sae", "--model-run", "model", "--out", "sae", "--latents", "6", "--l1", "0.01,0.1",
                              "--steps", "120", "--batch-size", "64", "--resample", "anthropic", "--resample-every", "20"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let folder = dir.appendingPathComponent("sae")
        #expect(result.stdout.hasPrefix(folder.path) || result.stdout.contains("/sae\n"))
        // 2 model instances × 2 λ = 4 SAE instances, m = 2, d_sae = 6.
        let shapes = try safetensorShapes(folder.appendingPathComponent("weights.safetensors"))
        #expect(shapes == ["W_enc": [4, 2, 6], "W_dec": [4, 6, 2], "b_enc": [4, 6], "b_dec": [4, 2]])
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("metrics.json"))) as? [String: Any])
        let instances = try #require(metrics["instances"] as? [[String: Any]])
        #expect(instances.map { $0["modelInstance"] as? Int } == [0, 0, 1, 1])
        for instance in instances {
            let mmcs = try #require(instance["meanMaxCosine"] as? Double)
            #expect(mmcs >= -1 && mmcs <= 1)
            let reconstruction = try #require(instance["reconstruction"] as? [String: Any])
            #expect((reconstruction["l0"] as? Double).map { $0 >= 0 && $0 <= 6 } == true)
        }
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["kind"] as? String == "sae" && config["modelRun"] as? String == "model")
        for file in ["report.html", "figures/decoder-directions.svg", "figures/fraction-active.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
    }

    /// As for `tms train`: --quiet prints the folder's path and nothing else (no progress, no table).
    @Test func quietPrintsOnlyThePath() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try tms(tinyModel, in: dir).status == 0)
        let result = try tms(["sae", "--model-run", "model", "--out", "sae", "--latents", "4", "--steps", "20",
                              "--batch-size", "32", "--no-report", "--quiet"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 1 && result.stdout.hasSuffix("/sae\n"), "\(result.stdout)")
    }

    @Test func badInputIsOneLineAndWritesNothing() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try tms(tinyModel, in: dir).status == 0)
        let cases: [([String], String)] = [
            (["--l1=-1"], "tms: error: --l1 value -1.0 is invalid; each λ must be a finite number ≥ 0"),
            (["--latents", "0"], "tms: error: --latents 0 is invalid; it must be a positive integer"),
            (["--instances", "5"], "tms: error: --instances 5 is invalid; it must be in 1…2 (model instances × λ values)"),
            (["--variant", "topk", "--top-k", "9", "--latents", "4"], "tms: error: --top-k 9 is invalid; it must be in 1…4 (the number of latents)"),
            (["--steps", "0"], "tms: error: --steps 0 is invalid; it must be a positive integer"),
            (["--resample-every", "0"], "tms: error: --resample-every 0 is invalid; it must be a positive integer"),
        ]
        for (flags, message) in cases {
            let result = try tms(["sae", "--model-run", "model", "--out", "bad"] + flags, in: dir)
            #expect(result.status == 2)
            #expect(result.stderr.split(separator: "\n").map(String.init) == [message])
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad").path))
        }
        let missing = try tms(["sae", "--model-run", "nowhere", "--out", "bad"], in: dir)
        #expect(missing.status == 2 && missing.stderr.hasPrefix("tms: error: ") && missing.stderr.contains("nowhere"))
    }

    @Test func runSaeQuickWritesItsChecksAndSweeps() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try tms(["run", "sae", "--quick", "--steps", "150", "--out", "sae"], in: dir)
        // 150 steps are too few for every check to pass; the run still completes and reports them all.
        #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
        let folder = dir.appendingPathComponent("sae")
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("checks.json"))) as? [[String: Any]])
        #expect(checks.count == 5)
        #expect(checks.allSatisfy { ($0["measured"] as? String)?.isEmpty == false })
        for sweep in ["relu-5-2", "relu-40-10-latents-80-resample-anthropic", "gated-40-10", "jumprelu-40-10", "topk-40-10-k1", "topk-40-10-k2", "topk-40-10-k4"] {
            let shapes = try safetensorShapes(folder.appendingPathComponent("sae/\(sweep)/weights.safetensors"))
            #expect(shapes["W_enc"]?.count == 3 && shapes["W_dec"]?.count == 3, "\(sweep)")
        }
        // The report is rebuilt from the saved folder alone.
        #expect(try tms(["report", "sae"], in: dir).status == 0)
    }
}
