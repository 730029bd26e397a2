import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// Superposition, memorization and double descent (Henighan et al. 2023, following Elhage et al. 2022):
/// a ReLU-output model with m = 2 trained to convergence on a FIXED training set of T unit-norm sparse points,
/// for T across orders of magnitude; full-batch AdamW, weight decay 1e-2, linear warm-up then cosine, held-out
/// test loss (docs/experiments.md#double-descent).
///
/// Expected: at small T the model memorises, and the hidden vectors of the data points form a T-gon; at large
/// T it generalises and the features form a polygon; in between the test loss peaks (double descent) and the
/// weight norm peaks.
///
/// Scaled for a 2-core CPU: one step costs T·n·m, so the paper's n = 10,000 with T up to 10⁴ and 50k steps
/// is out of reach; we keep the paper's ~10 active features per input (n·(1 − S) = 10) and its T·(1 − S)
/// range with n = 1,000 and 1 − S = 0.01 (quick: n = 200, 1 − S = 0.05), and fewer steps.
public struct DoubleDescentExperiment: Experiment {
    public init() {}
    public let name = "double-descent"
    public let reproduces = "Henighan et al. 2023 (after Elhage et al. 2022 §\"Superposition and Memorization\"): test loss, weight norm and data vs feature geometry across training-set size T"
    public let measuredRuntime = "92 s"
    public let mainFigure: String? = "loss-vs-T.svg"
    public let outputs = "test/train loss and ‖W‖_F against T, data-point and feature diagrams per T; double-descent.safetensors"

    struct Setting { var n: Int; var density: Float; var sizes: [Int]; var steps: Int; var warmup: Int; var testSize: Int; var learningRate: Double }

    func setting(_ options: ExperimentOptions) -> Setting {
        options.quick
            ? Setting(n: 200, density: 0.05, sizes: [3, 5, 10, 20, 50, 100, 200, 500], steps: options.steps(full: 0, quick: 2_000),
                      warmup: 200, testSize: 500, learningRate: 1e-2)
            : Setting(n: 1_000, density: 0.01, sizes: [3, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000], steps: options.steps(full: 4_000, quick: 0),
                      warmup: 400, testSize: 1_000, learningRate: 1e-2)
    }

    /// `count` points with features present with probability p, magnitudes U[0, 1), scaled to unit norm; an
    /// empty draw is redrawn (the zero vector has no direction).
    static func unitRows(count: Int, featureCount n: Int, density p: Float, rng: inout RandomStream) -> [SparseRow] {
        (0..<count).map { _ in
            while true {
                var f: [Int32] = [], v: [Float] = []
                for i in 0..<n where rng.nextUnitFloat() < p { f.append(Int32(i)); v.append(rng.nextUnitFloat()) }
                let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                if norm > 0 { return SparseRow(features: f, values: v.map { $0 / norm }) }
            }
        }
    }

    static func trainingSet(_ s: Setting, index: Int, seed: UInt64) -> [SparseRow] {
        var rng = RandomStream(seed: seed).split(0xDD, UInt64(index))
        return unitRows(count: s.sizes[index], featureCount: s.n, density: s.density, rng: &rng)
    }

    static func testSet(_ s: Setting, seed: UInt64) -> [SparseRow] {
        var rng = RandomStream(seed: seed).split(0xDD, 1 << 20)
        return unitRows(count: s.testSize, featureCount: s.n, density: s.density, rng: &rng)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let s = setting(options), count = s.sizes.count
        // Interleave small and large T so that contiguous chunks of work balance across threads.
        let order = (0..<count).map { $0 % 2 == 0 ? $0 / 2 : count - 1 - $0 / 2 }
        var results = [DirectTrainer.Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendableBox(out)
            parallelFor(count, threads: options.threads) { j in
                let i = order[j]
                var trainer = DirectTrainer(featureCount: s.n, hiddenCount: 2, steps: s.steps, learningRate: s.learningRate)
                trainer.optimizer = .adamw; trainer.weightDecay = 1e-2
                trainer.schedule = .warmupCosine; trainer.warmupSteps = s.warmup
                trainer.seed = RandomStream(seed: options.seed).split(0xDD, UInt64(i), 1).key
                let rows = Self.trainingSet(s, index: i, seed: options.seed)
                box.value[i] = trainer.train { _ in rows }
            }
        }
        let done = results.map { $0! }
        let n = s.n
        let tensors: [String: Tensor] = [
            "W": Tensor(shape: [count, 2, n], values: done.flatMap(\.W.values)),
            "b_final": Tensor(shape: [count, n], values: done.flatMap(\.bias)),
            "T": Tensor(shape: [count], values: s.sizes.map(Float.init)),
            "train_loss": Tensor(shape: [count], values: done.map { $0.losses.last! }),
        ]
        return ExperimentData(parts: [], extras: ["double-descent.safetensors": Foundation.Data(Safetensors.encode(tensors, metadata: [:]))])
    }

    struct Row { var T: Int; var W: Matrix; var bias: [Float]; var train: Double; var test: Double; var weightNorm: Double }

    /// The trained models of every T, read from `double-descent.safetensors`; throws a ``RunFolderError`` when
    /// the file is missing, damaged or of other shapes than the setting's.
    func rows(_ data: ExperimentData, options: ExperimentOptions) throws -> [Row] {
        let s = setting(options)
        guard let bytes = data.extras["double-descent.safetensors"] else {
            throw RunFolderError("double-descent.safetensors is missing")
        }
        let t: [String: Tensor]
        do { t = try Safetensors.decode([UInt8](bytes)).tensors } catch {
            throw RunFolderError("double-descent.safetensors: \(error)")
        }
        let K = s.sizes.count
        guard let W = t["W"], let b = t["b_final"], let train = t["train_loss"], W.shape == [K, 2, s.n],
              b.shape == [K, s.n], train.shape == [K] else {
            throw RunFolderError("double-descent.safetensors needs W [\(K), 2, \(s.n)], b_final [\(K), \(s.n)] and train_loss [\(K)]")
        }
        let test = Self.testSet(s, seed: options.seed), size = 2 * s.n
        return s.sizes.indices.map { i in
            let Wi = Matrix(rowCount: 2, columnCount: s.n, values: Array(W.values[(i * size)..<((i + 1) * size)]))
            let bi = Array(b.values[(i * s.n)..<((i + 1) * s.n)])
            let ones = [Float](repeating: 1, count: s.n)
            return Row(T: s.sizes[i], W: Wi, bias: bi, train: Double(train.values[i]),
                       test: DirectTrainer.loss(W: Wi, bias: bi, importance: ones, rows: test),
                       weightNorm: Wi.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
    }

    /// The hidden vectors h = W x of a training set's points, as the columns of an m×T matrix.
    static func hiddenVectors(_ W: Matrix, _ rows: [SparseRow]) -> Matrix {
        var out = Matrix(rowCount: W.rowCount, columnCount: rows.count)
        for (t, row) in rows.enumerated() {
            for k in 0..<W.rowCount {
                out[k, t] = zip(row.features, row.values).reduce(Float(0)) { $0 + W[k, Int($1.0)] * $1.1 }
            }
        }
        return out
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let s = setting(options)
        let rows = try rows(data, options: options)
        var checks: [Check] = []
        let tests = rows.map(\.test), norms = rows.map(\.weightNorm)
        let peak = tests.indices.max { tests[$0] < tests[$1] }!
        checks.append(Check(
            claim: "Test loss peaks at an intermediate training-set size (double descent)",
            expected: "the largest test loss is at neither the smallest nor the largest T, and exceeds the largest T's by > 20 %",
            measured: "test loss " + rows.map { "T=\($0.T): \(fmt($0.test, 4))" }.joined(separator: ", "),
            passed: peak > 0 && peak < rows.count - 1 && tests[peak] > 1.2 * tests.last!))

        // Small T: the data points' hidden vectors form a T-gon.
        var gonText: [String] = [], gonOK = true
        for i in rows.indices where rows[i].T <= 5 {
            let H = Self.hiddenVectors(rows[i].W, Self.trainingSet(s, index: i, seed: options.seed))
            let hn = featureNorms(of: H)
            let angles = adjacentAngles2D(of: H, threshold: 0.1 * (hn.max() ?? 0))
            let ok = angles.count == rows[i].T && angles.allSatisfy { Swift.abs($0 - 360 / Double(rows[i].T)) < 15 }
            gonOK = gonOK && ok
            gonText.append("T=\(rows[i].T): angles \(angles.map { fmt($0, 0) }.joined(separator: "/"))°")
        }
        checks.append(Check(claim: "Small T: the hidden vectors of the data points form a T-gon",
                            expected: "for T ≤ 5, the T hidden vectors W x_t at adjacent angles 360°/T ± 15°",
                            measured: gonText.joined(separator: "; "), passed: gonOK && !gonText.isEmpty))
        // The paper's measure of the same: data dimensionality D_t = ‖h_t‖²/Σ_s(ĥ_t·h_s)², m/T for a T-gon.
        let dataD = rows.indices.map { i -> Double in
            let d = featureDimensionality(of: Self.hiddenVectors(rows[i].W, Self.trainingSet(s, index: i, seed: options.seed)))
            return d.reduce(0, +) / Double(d.count)
        }
        let small = rows.indices.filter { rows[$0].T <= 5 }
        checks.append(Check(claim: "Small T: data dimensionality is m/T (the data points share the 2 dimensions as a T-gon)",
                            expected: "for T ≤ 5, the mean D_t of the training points within 0.1 of 2/T",
                            measured: small.map { "T=\(rows[$0].T): \(fmt(dataD[$0], 3)) (2/T = \(fmt(2 / Double(rows[$0].T), 3)))" }.joined(separator: "; "),
                            passed: !small.isEmpty && small.allSatisfy { Swift.abs(dataD[$0] - 2 / Double(rows[$0].T)) < 0.1 }))

        // Large T: the features form a polygon.
        let last = rows.last!
        let fAngles = adjacentAngles2D(of: last.W)
        let k = fAngles.count
        let polyOK = k >= 3 && fAngles.allSatisfy { Swift.abs($0 - 360 / Double(k)) < 15 }
        checks.append(Check(claim: "Large T: the features form a polygon",
                            expected: "at the largest T, k ≥ 3 features with ‖W_i‖ > 0.5 at adjacent angles 360°/k ± 15°",
                            measured: "T=\(last.T): \(k) features, angles \(fAngles.map { fmt($0, 0) }.joined(separator: "/"))°", passed: polyOK))

        let normPeak = norms.indices.max { norms[$0] < norms[$1] }!
        checks.append(Check(claim: "The weight norm peaks in between",
                            expected: "‖W‖_F largest at neither the smallest nor the largest T",
                            measured: "‖W‖_F " + rows.map { "T=\($0.T): \(fmt($0.weightNorm, 2))" }.joined(separator: ", "),
                            passed: normPeak > 0 && normPeak < rows.count - 1))

        let x = rows.map { Double($0.T) }
        var figures = [ReportFigure(
            heading: "Test and train loss against T",
            html: Plots.lineChart(title: "Double descent, n = \(s.n), m = 2, 1 − S = \(fmt(Double(s.density)))", xLabel: "training-set size T", yLabel: "loss",
                                  x: x, series: [("test", tests), ("train", rows.map(\.train))], logX: true, logY: true, dashed: ["train"]),
            caption: "Test loss on \(s.testSize) held-out unit-norm points; train loss on the T training points at the end of training.",
            file: "loss-vs-T.svg")]
        figures.append(ReportFigure(
            heading: "Weight norm against T",
            html: Plots.lineChart(title: "‖W‖_F against T", xLabel: "T", yLabel: "‖W‖_F", x: x, series: [("‖W‖_F", norms)], logX: true, logY: false),
            file: "weight-norm-vs-T.svg"))
        var table = "<table><tr><th>T</th><th>train loss</th><th>test loss</th><th>‖W‖_F</th><th>features ‖W_i‖ > 0.5</th><th>mean data dimensionality</th></tr>"
        for (i, r) in rows.enumerated() { table += "<tr><td>\(r.T)</td><td>\(fmt(r.train, 4))</td><td>\(fmt(r.test, 4))</td><td>\(fmt(r.weightNorm, 2))</td><td>\(representedFeatureCount(of: r.W))</td><td>\(fmt(dataD[i], 3))</td></tr>" }
        figures.append(ReportFigure(heading: "Per training-set size", html: table + "</table>"))
        return ExperimentAnalysis(figures: figures, checks: checks,
                                  summary: [("test-loss peak", "T = \(rows[peak].T)"), ("weight-norm peak", "T = \(rows[normPeak].T)")])
    }
}

extension DoubleDescentExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] { [] }

    public var extraFiles: Set<String> { ["double-descent.safetensors"] }

    public func checkExtras(_ data: ExperimentData) throws {
        guard let tensors = try data.extraTensors("double-descent.safetensors") else { return }
        guard let W = tensors["W"], let b = tensors["b_final"], let T = tensors["T"], let l = tensors["train_loss"],
              W.shape.count == 3, W.shape[1] == 2, b.shape == [W.shape[0], W.shape[2]], T.shape == [W.shape[0]], l.shape == [W.shape[0]],
              W.values.allSatisfy(\.isFinite), b.values.allSatisfy(\.isFinite) else {
            throw WeightsFileError("double-descent.safetensors does not hold finite W [K, 2, n], b_final [K, n], T [K] and train_loss [K]")
        }
    }
}
