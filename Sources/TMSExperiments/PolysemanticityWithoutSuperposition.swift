import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// Polysemanticity without superposition (beyond Elhage et al. 2022, whose §"Superposition in a Privileged
/// Basis" ties polysemantic neurons to superposition; docs/experiments.md#polysemanticity-without-superposition):
/// neurons can read several inputs although the model stores no more features than it has dimensions, so that
/// an orthogonal change of basis makes them clean.
///
/// (a) `product-mlp.safetensors`: a 2 → k → 1 ReLU MLP (``ProductMLP``) trained on x·y, x, y ~ N(0, 1): its
/// neurons read x and y equally, along ±45°, because x·y = ((x + y)² − (x − y)²)/4. (b) part `orthogonal`:
/// `relu-output` with n = m = 5, no pressure to superpose, its hidden basis not privileged, so the learned
/// features are orthogonal in a random basis. Controls in superposition: part `pentagon` (the intro setting's
/// sparsest instance, 5 → 2 at 1 − S = 0.05) and part `sweep-20-5` (the sparsity sweep's 20 → 5 at 1 − S = 0.001).
/// ``superpositionTest(of:changing:normThreshold:interferenceThreshold:monosemanticThreshold:)`` tells them apart.
public struct PolysemanticityWithoutSuperpositionExperiment: Experiment {
    public init() {}
    public let name = "polysemanticity-without-superposition"
    public let reproduces = "Beyond the paper (after §\"Superposition in a Privileged Basis\"): polysemantic neurons without superposition (an x·y MLP, orthogonal features in a rotated basis) against the pentagon and 20→5 controls"
    public let measuredRuntime = "3 s"
    public let mainFigure: String? = "mlp-neuron-directions.svg"
    public let outputs = "MLP neuron directions in the (x, y) plane, learned x·y and its error, neuron×feature heatmaps before/after the orthogonal change of basis, verdict table, loss curves; product-mlp.safetensors"

    static let mlpFile = "product-mlp.safetensors"
    /// Held-out inputs of the MLP's evaluation (loss, live neurons).
    static let evaluationCount = 4_096
    /// A live MLP neuron active on at least this share of the held-out inputs is linear on the data.
    static let linearShare = 0.95

    func mlpTrainer(_ options: ExperimentOptions) -> ProductMLPTrainer {
        options.quick
            ? ProductMLPTrainer(hiddenCount: 8, steps: options.steps(full: 0, quick: 5_000), batchSize: 256, learningRate: 1e-2, seed: options.seed)
            : ProductMLPTrainer(hiddenCount: 16, steps: options.steps(full: 60_000, quick: 0), batchSize: 256, learningRate: 3e-3, seed: options.seed)
    }

    func orthogonalConfig(_ options: ExperimentOptions) -> TrainingConfig {
        .standard(model: .reluOutput, featureCount: 5, hiddenCount: 5, featureProbabilities: [1, 0.3, 0.1],
                  steps: options.steps(full: 5_000, quick: 3_000), bestOf: 1, seed: options.seed)
    }

    /// The intro setting (docs/experiments.md#intro) at its sparsest density alone.
    func pentagonConfig(_ options: ExperimentOptions) -> TrainingConfig {
        .standard(model: .reluOutput, featureCount: 5, hiddenCount: 2, featureProbabilities: [0.05], importanceDecay: 0.9,
                  steps: options.steps(full: 10_000, quick: 3_000), bestOf: options.quick ? 2 : 4, seed: options.seed)
    }

    /// The sparsity sweep's ReLU-output part (docs/experiments.md#sparsity-sweep) at 1 − S = 0.001 alone.
    func sweepConfig(_ options: ExperimentOptions) -> TrainingConfig {
        .standard(model: .reluOutput, featureCount: 20, hiddenCount: 5, featureProbabilities: [0.001], importanceDecay: 0.7,
                  steps: options.steps(full: 10_000, quick: 3_000), learningRate: options.quick ? 3e-3 : 1e-3,
                  bestOf: options.quick ? 2 : 3, seed: options.seed)
    }

    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("orthogonal", orthogonalConfig(options)), ("pentagon", pentagonConfig(options)), ("sweep-20-5", sweepConfig(options))]
    }

    public var extraFiles: Set<String> { [Self.mlpFile] }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let trainer = mlpTrainer(options)
        let outcome = trainer.train { progress("product-mlp", $0) }
        let parts = try trainParts(options, progress: progress)
        return ExperimentData(parts: parts, extras: [Self.mlpFile: Self.encode(outcome)])
    }

    static func encode(_ outcome: ProductMLPTrainer.Outcome) -> Foundation.Data {
        let m = outcome.model, k = m.hiddenCount
        let tensors: [String: Tensor] = [
            "fc1.weight": Tensor(shape: [k, 2], values: m.inputWeights), "fc1.bias": Tensor(shape: [k], values: m.inputBias),
            "fc2.weight": Tensor(shape: [1, k], values: m.outputWeights), "fc2.bias": Tensor(shape: [1], values: [m.outputBias]),
            "train_loss": Tensor(shape: [outcome.losses.count], values: outcome.losses),
        ]
        return Foundation.Data(Safetensors.encode(tensors, metadata: [:]))
    }

    /// The MLP and its loss curve from `product-mlp.safetensors`; throws a one-line error when missing or damaged.
    static func decodeMLP(_ data: ExperimentData) throws -> (model: ProductMLP, losses: [Float]) {
        guard let t = try data.extraTensors(mlpFile) else { throw RunFolderError("\(mlpFile) is missing") }
        guard let W1 = t["fc1.weight"], let b1 = t["fc1.bias"], let W2 = t["fc2.weight"], let b2 = t["fc2.bias"], let loss = t["train_loss"],
              W1.shape.count == 2, W1.shape[1] == 2, W1.shape[0] >= 1, b1.shape == [W1.shape[0]], W2.shape == [1, W1.shape[0]],
              b2.shape == [1], loss.shape.count == 1,
              (W1.values + b1.values + W2.values + b2.values).allSatisfy(\.isFinite) else {
            throw WeightsFileError("\(mlpFile) does not hold finite fc1.weight [k, 2], fc1.bias [k], fc2.weight [1, k], fc2.bias [1] and train_loss [T]")
        }
        let model = ProductMLP(hiddenCount: W1.shape[0], inputWeights: W1.values, inputBias: b1.values,
                               outputWeights: W2.values, outputBias: b2.values[0])
        return (model, loss.values)
    }

    public func checkExtras(_ data: ExperimentData) throws {
        if data.extras[Self.mlpFile] != nil { _ = try Self.decodeMLP(data) }
    }

    /// The angle in degrees between direction (a₀, a₁) and the nearest of the ±45° lines (0 … 45).
    static func offDiagonal(_ a0: Double, _ a1: Double) -> Double {
        let angle = atan2(a1, a0) * 180 / Double.pi
        let r = (angle - 45).truncatingRemainder(dividingBy: 90)
        let wrapped = r < 0 ? r + 90 : r
        return min(wrapped, 90 - wrapped)
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let (mlp, losses) = try Self.decodeMLP(data)
        let k = mlp.hiddenCount
        var evalRNG = RandomStream(seed: options.seed).split(0x3D1, 2)
        let held = ProductMLPTrainer.inputs(count: Self.evaluationCount, rng: &evalRNG)
        let mse = ProductMLP.lossAndGradient(parameters: mlp.parameters, hiddenCount: k, inputs: held).loss
        // E[(xy)²] = E[x²]E[y²] = 1 for independent standard normals: the loss of predicting 0.
        let meanSquareTarget = held.reduce(0.0) { $0 + $1.x * $1.x * $1.y * $1.y } / Double(held.count)
        // Live: active (z_j > 0) on some held-out input and writing to the output. Linear on the data: active on
        // ≥ 95 % of them, where it adds only an affine function whose direction the others' linear parts can
        // cancel, so x·y does not fix it. The checks read the kinked neurons, the live ones that are not linear.
        let activeShare = (0..<k).map { j -> Double in
            let a0 = Double(mlp.inputWeights[2 * j]), a1 = Double(mlp.inputWeights[2 * j + 1]), b = Double(mlp.inputBias[j])
            return Double(held.filter { a0 * $0.x + a1 * $0.y + b > 0 }.count) / Double(held.count)
        }
        let live = (0..<k).filter { mlp.outputWeights[$0] != 0 && activeShare[$0] > 0 }
        let kinked = live.filter { activeShare[$0] < Self.linearShare }
        let W1 = Matrix(rows: kinked.map { [mlp.inputWeights[2 * $0], mlp.inputWeights[2 * $0 + 1]] })
        let offs = kinked.map { Self.offDiagonal(Double(mlp.inputWeights[2 * $0]), Double(mlp.inputWeights[2 * $0 + 1])) }
        let mlpTest = superpositionTest(of: W1, changing: .input)

        let orthogonal = try data.part("orthogonal"), pentagon = try data.part("pentagon"), sweep = try data.part("sweep-20-5")
        let orthoW = (0..<orthogonal.config.instanceCount).map { orthogonal.weights.weightMatrix(instance: $0) }
        let orthoTests = orthoW.map { superpositionTest(of: $0) }
        let pentagonW = pentagon.weights.weightMatrix(instance: 0), pentagonTest = superpositionTest(of: pentagonW)
        let sweepW = sweep.weights.weightMatrix(instance: 0), sweepTest = superpositionTest(of: sweepW)
        let wanted = SuperpositionVerdict.polysemanticWithoutSuperposition

        func describe(_ t: SuperpositionTest) -> String {
            "verdict \"\(t.verdict.rawValue)\": \(t.polysemanticNeurons)/\(t.liveNeurons) live neurons polysemantic, \(t.representedFeatures) features represented in m = \(t.dimension), max interference \(fmt(t.maxInterference, 3)), \(t.polysemanticAfterChange) polysemantic after the change of basis"
        }
        var checks: [Check] = []
        checks.append(Check(
            claim: "(a) The MLP computes x·y",
            expected: "held-out mean squared error < 0.05 × E[(xy)²] (predicting 0 scores 1×)",
            measured: "MSE \(fmt(mse, 5)) on \(held.count) inputs; E[(xy)²] \(fmt(meanSquareTarget, 3)); ratio \(fmt(mse / meanSquareTarget, 4))",
            passed: mse < 0.05 * meanSquareTarget))
        checks.append(Check(
            claim: "(a) The MLP's neurons read x and y along the ±45° axes, i.e. (x + y) or (x − y)",
            expected: "every kinked neuron's input direction (a_j0, a_j1) within 10° of a ±45° line (kinked: active on some but < 95 % of the held-out inputs)",
            measured: "\(kinked.count) kinked, \(live.count - kinked.count) linear, \(k - live.count) dead of \(k); largest deviation \(fmt(offs.max() ?? .nan, 1))°; angles \(kinked.map { fmt(atan2(Double(mlp.inputWeights[2 * $0 + 1]), Double(mlp.inputWeights[2 * $0])) * 180 / Double.pi, 0) }.joined(separator: ", "))°",
            passed: !kinked.isEmpty && offs.allSatisfy { $0 < 10 }))
        checks.append(Check(
            claim: "(a) The MLP's neurons are polysemantic without superposition",
            expected: "superpositionTest(changing: input) on the kinked neurons' W₁ = \"\(wanted.rawValue)\" (docs/analysis.md#superposition-test)",
            measured: describe(mlpTest), passed: mlpTest.verdict == wanted))
        let orthoP = orthogonal.config.featureProbability.map { Double($0[0]) }
        checks.append(Check(
            claim: "(b) relu-output 5→5: orthogonal features in a non-privileged basis are polysemantic without superposition",
            expected: "superpositionTest(changing: hidden) = \"\(wanted.rawValue)\" at every 1 − S",
            measured: orthoTests.indices.map { "1 − S = \(fmt(orthoP[$0], 3)): \(describe(orthoTests[$0]))" }.joined(separator: "; "),
            passed: orthoTests.allSatisfy { $0.verdict == wanted }))
        let angles = adjacentAngles2D(of: pentagonW)
        checks.append(Check(
            claim: "Control: the 5→2 pentagon (intro setting, 1 − S = 0.05) is superposition",
            expected: "superpositionTest = \"superposition\"",
            measured: "\(describe(pentagonTest)); adjacent angles \(angles.map { fmt($0, 0) }.joined(separator: "/"))°",
            passed: pentagonTest.verdict == .superposition))
        checks.append(Check(
            claim: "Control: the 20→5 sparsity-sweep model at 1 − S = 0.001 is superposition",
            expected: "superpositionTest = \"superposition\"",
            measured: describe(sweepTest), passed: sweepTest.verdict == .superposition))

        var figures = [ReportFigure(
            heading: "(a) MLP neuron input directions",
            html: Self.neuronDirections(mlp, live: live, linear: Set(live.filter { !kinked.contains($0) }), title: "x·y MLP, k = \(k): neuron input directions a_j"),
            caption: "Each live neuron j is a ray to its input weights a_j in the (x, y) plane, blue when it adds to the output (c_j > 0), red when it subtracts; pale: linear on the data (active on ≥ 95 % of inputs); dashed: the ±45° lines x = ±y. Neurons along x + y build (x + y)²/4, those along x − y build −(x − y)²/4.",
            file: "mlp-neuron-directions.svg")]
        figures.append(ReportFigure(
            heading: "(a) Learned x·y and its error",
            html: Figure.stacked([Self.surface(title: "f(x, y)", values: Self.grid { mlp($0, $1) }, label: "f"),
                                  Self.surface(title: "f(x, y) − x·y", values: Self.grid { mlp($0, $1) - $0 * $1 }, label: "error")],
                                 axis: .horizontal).render(),
            caption: "On [−3, 3]² (x right, y up), 41 × 41 points; colour scale symmetric around 0 in each panel. The inputs are N(0, 1), so the corners are rarely seen in training.",
            file: "mlp-surface.svg"))
        let cases: [(String, Matrix, SuperpositionTest, String)] = [
            ("(a) x·y MLP, kinked neurons", W1, mlpTest, "(a) MLP"),
            ("(b) relu-output 5→5, 1 − S = \(fmt(orthoP[0], 3))", orthoW[0], orthoTests[0], "(b) 5→5"),
            ("pentagon 5→2, 1 − S = 0.05", pentagonW, pentagonTest, "pentagon"),
            ("20→5, 1 − S = 0.001", sweepW, sweepTest, "20→5"),
        ]
        figures.append(ReportFigure(
            heading: "Neurons × features before and after the orthogonal change of basis",
            html: Figure.stacked(cases.map { c in
                let input = c.2.changeOfBasis == .input
                return Figure.stacked([
                    Figures.neuronHeatmapFigure(title: "\(c.3): W as trained", weights: c.1.rows.map(Plots.doubles),
                                                columnLabel: input ? "input (x, y)" : "feature"),
                    Figures.neuronHeatmapFigure(title: input ? "\(c.3): inputs rotated, WQ" : "\(c.3): hidden rotated, OW",
                                                weights: c.2.transformed.rows.map(Plots.doubles),
                                                columnLabel: input ? "rotated input (u, v)" : "feature"),
                ], axis: .horizontal)
            }).render(),
            caption: "Rows neurons, columns features (red negative, blue positive), one row per case: (a) the x·y MLP's kinked neurons, (b) relu-output 5→5 at 1 − S = \(fmt(orthoP[0], 3)), the pentagon, 20→5 at 1 − S = 0.001. Left: as trained; right: after the orthogonal change of basis of superpositionTest (docs/analysis.md#superposition-test). Without superposition each neuron then reads one feature; in superposition no rotation can do that. Verdicts in the table below.",
            file: "neurons-before-after.svg"))
        let rows = cases.map { c in
            "<tr><td>\(c.0)</td><td>\(c.2.polysemanticNeurons)/\(c.2.liveNeurons)</td><td>\(c.2.representedFeatures)</td><td>\(c.2.dimension)</td><td>\(fmt(c.2.maxInterference, 3))</td><td>\(c.2.polysemanticAfterChange)</td><td>\(c.2.verdict.rawValue)</td></tr>"
        }.joined()
        figures.append(ReportFigure(
            heading: "Superposition test",
            html: "<table><tr><th>model</th><th>polysemantic / live neurons</th><th>represented features</th><th>dimensions m</th><th>max interference</th><th>polysemantic after change</th><th>verdict</th></tr>\(rows)</table>",
            caption: "Polysemantic: monosemanticity < 0.9; represented: norm > 0.5; superposition: more represented features than m or an interference > 0.1."))
        let stride = max(1, losses.count / 200)
        let sampled = Swift.stride(from: 0, to: losses.count, by: stride)
        figures.append(ReportFigure(
            heading: "(a) MLP training loss",
            html: Plots.lineChart(title: "x·y MLP, k = \(k): batch MSE", xLabel: "step", yLabel: "MSE",
                                  x: sampled.map { Double($0 + 1) }, series: [("batch loss", sampled.map { Double(losses[$0]) })], logX: false, logY: true),
            file: "mlp-loss.svg"))
        figures.append(ReportFigure(heading: "Loss curves of the toy models (orthogonal 5→5)", html: Plots.lossCurves(orthogonal), file: "loss-curves.svg"))
        return ExperimentAnalysis(figures: figures, checks: checks, summary: [
            ("verdicts", cases.map { "\($0.3): \($0.2.verdict.rawValue)" }.joined(separator: "; ")),
            ("MLP MSE / E[(xy)²]", fmt(mse / meanSquareTarget, 4)),
        ])
    }

    /// `f` on a 41 × 41 grid over [−3, 3]², row 0 at y = 3 (top).
    static func grid(_ f: (Double, Double) -> Double) -> [[Double]] {
        (0..<41).map { r in (0..<41).map { c in f(-3 + 6 * Double(c) / 40, 3 - 6 * Double(r) / 40) } }
    }

    static func surface(title: String, values: [[Double]], label: String) -> Figure {
        let scale = values.flatMap { $0 }.map { Swift.abs($0) }.filter(\.isFinite).max().flatMap { $0 > 0 ? $0 : nil } ?? 1
        var canvas = SVGCanvas(width: 320, height: 360)
        canvas.text(title, at: Point(160, 22), size: 14, anchor: .middle, bold: true)
        let origin = Point(40, 40)
        canvas.matrixHeatmap(origin: origin, width: 246, height: 246, values: values, map: .redWhiteBlue, domain: -scale...scale,
                             labels: HeatmapLabels(row: "y", column: "x", value: label))
        canvas.text("x ∈ [−3, 3]", at: Point(origin.x + 123, origin.y + 262), anchor: .middle)
        canvas.text("y ∈ [−3, 3]", at: Point(origin.x - 12, origin.y + 123), anchor: .middle, rotation: -90)
        let l = SVG.number(scale, decimals: 3)
        canvas.colorBar(at: Point(origin.x + 33, origin.y + 290), width: 180, map: .redWhiteBlue, lowLabel: "−" + l, highLabel: l,
                        midLabel: "0", caption: label)
        return Figure(canvas)
    }

    static func neuronDirections(_ mlp: ProductMLP, live: [Int], linear: Set<Int>, title: String) -> String {
        func a(_ j: Int) -> (x: Double, y: Double) { (Double(mlp.inputWeights[2 * j]), Double(mlp.inputWeights[2 * j + 1])) }
        let r = live.map { j -> Double in let v = a(j); return (v.x * v.x + v.y * v.y).squareRoot() }.max() ?? 1
        let bound = max(r, 0.1) * 1.15
        var canvas = SVGCanvas(width: 420, height: 470)
        canvas.text(title, at: Point(210, 22), size: 14, anchor: .middle, bold: true)
        let area = PlotArea(left: 60, top: 40, width: 340, height: 340, xDomain: -bound...bound, yDomain: -bound...bound)
        canvas.axes(area, xLabel: "weight on x", yLabel: "weight on y")
        for s in [1.0, -1.0] {
            canvas.lineSeries(area, points: [Point(-bound, -s * bound), Point(bound, s * bound)], color: "#888888", width: 1, dash: "5,4",
                              title: s > 0 ? "x = y" : "x = −y")
        }
        for j in live {
            let c = Double(mlp.outputWeights[j]), v = a(j)
            let label = "neuron \(j): a = (\(fmt(v.x, 3)), \(fmt(v.y, 3))), b = \(fmt(Double(mlp.inputBias[j]), 3)), c = \(fmt(c, 3))"
            let colour = linear.contains(j) ? (c > 0 ? "#92c5de" : "#f4a582") : (c > 0 ? "#2166ac" : "#b2182b")
            canvas.ray(area, to: Point(v.x, v.y), color: colour, width: 2, dotRadius: 3.5, title: label + (linear.contains(j) ? " (linear on the data)" : ""))
        }
        canvas.legend(at: Point(70, 432), entries: [LegendEntry(label: "c_j > 0", color: "#2166ac", mark: .line),
                                                     LegendEntry(label: "c_j < 0", color: "#b2182b", mark: .line)])
        canvas.legend(at: Point(230, 432), entries: [LegendEntry(label: "linear on the data, c_j > 0", color: "#92c5de", mark: .line),
                                                      LegendEntry(label: "linear on the data, c_j < 0", color: "#f4a582", mark: .line)])
        return Figure(canvas).render()
    }
}
