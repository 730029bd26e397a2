import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// How an experiment is run: `quick` is a reduced setting (fewer steps, a coarser grid) that still shows the
/// qualitative result; `steps` overrides every part's step count.
public struct ExperimentOptions: Sendable, Codable, Equatable {
    public var quick: Bool
    public var seed: UInt64
    public var steps: Int?
    /// Worker threads; never changes the result, so it is not recorded.
    public var threads: Int

    public init(quick: Bool = false, seed: UInt64 = 0, steps: Int? = nil, threads: Int = availableProcessorCount) {
        self.quick = quick; self.seed = seed; self.steps = steps; self.threads = threads
    }

    enum CodingKeys: String, CodingKey { case quick, seed, steps }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        quick = try c.decode(Bool.self, forKey: .quick)
        seed = try c.decode(UInt64.self, forKey: .seed)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        threads = availableProcessorCount
    }

    /// `full` normally, `quick` with --quick, and --steps over both.
    public func steps(full: Int, quick quickSteps: Int) -> Int { steps ?? (quick ? quickSteps : full) }
}

/// One claim of the paper stated as a measurable test (docs/experiments.md). A failing check is reported, never hidden.
public struct Check: Sendable, Codable, Equatable {
    public var claim: String
    public var expected: String
    public var measured: String
    public var passed: Bool

    public init(claim: String, expected: String, measured: String, passed: Bool) {
        self.claim = claim; self.expected = expected; self.measured = measured; self.passed = passed
    }
}

/// What an experiment trained: named parts (each a complete run) and extra files (e.g. weight snapshots).
public struct ExperimentData: Sendable {
    public var parts: [(name: String, run: TrainedRun)]
    public var extras: [String: Foundation.Data]

    public init(parts: [(name: String, run: TrainedRun)], extras: [String: Foundation.Data] = [:]) {
        self.parts = parts
        self.extras = extras
    }

    /// The part called `name`. Parts come from the experiment's own `train` or from `ExperimentRunner.load`,
    /// which checks them against `partConfigs`; data built any other way may lack one, which throws a one-line
    /// error naming the parts there are rather than trapping.
    public func part(_ name: String) throws -> TrainedRun {
        guard let found = parts.first(where: { $0.name == name }) else {
            let present = parts.isEmpty ? "none" : parts.map(\.name).joined(separator: ", ")
            throw RunFolderError("experiment data has no part '\(name)'; parts present: \(present)")
        }
        return found.run
    }

    /// The tensors of the extra file `name` (e.g. `snapshots.safetensors`), nil when the data has no such file;
    /// a file that is not valid safetensors throws a ``WeightsFileError`` naming it. Experiments' `checkExtras`
    /// read their files through this, then check shapes and values.
    public func extraTensors(_ name: String) throws -> [String: Tensor]? {
        guard let bytes = extras[name] else { return nil }
        do { return try Safetensors.decode([UInt8](bytes)).tensors } catch let error as SafetensorsError {
            throw WeightsFileError("\(name): \(error.description)")
        }
    }
}

/// A figure or table of a report: heading, inline SVG/HTML, caption; `file` names the SVG saved in figures/.
public struct ReportFigure: Sendable {
    public var heading: String
    public var html: String
    public var caption: String
    public var file: String?

    public init(heading: String, html: String, caption: String = "", file: String? = nil) {
        self.heading = heading; self.html = html; self.caption = caption; self.file = file
    }
}

/// What an experiment's analysis produces from its data: figures and checks.
public struct ExperimentAnalysis: Sendable {
    public var figures: [ReportFigure]
    public var checks: [Check]
    /// Extra key facts for the report header, e.g. "agreement" → "87 %".
    public var summary: [(String, String)]

    public init(figures: [ReportFigure], checks: [Check], summary: [(String, String)] = []) {
        self.figures = figures; self.checks = checks; self.summary = summary
    }
}

/// A named recipe of the paper: a complete default config, a runner and its checks.
public protocol Experiment: Sendable {
    /// The CLI name, e.g. `intro`.
    var name: String { get }
    /// The paper's section and figure it reproduces.
    var reproduces: String { get }
    /// Runtime of the full setting on a 2-core machine, measured by `tms run all` (see `tms list`).
    var measuredRuntime: String { get }
    /// What the run folder holds beyond the standard files.
    var outputs: String { get }
    /// Trains every part. `progress(label, progress)` is called between chunks of steps.
    func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData
    /// Figures and checks: a pure function of the trained data. Throws only if `data` lacks a part it reads.
    func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis
    /// The parts `train` writes for `options`, in order, with the config each is trained with. Loading an
    /// experiment folder checks its parts against these, so `analyse` only ever meets the data it expects.
    func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)]
    /// The names of the extra files `train` may write (e.g. `snapshots.safetensors`).
    var extraFiles: Set<String> { get }
    /// The file in figures/ that stands for the run (the thumbnail on `tms run all`'s index page); nil, the
    /// default, takes the first figure the analysis saves.
    var mainFigure: String? { get }
    /// Throws if a loaded extra file is damaged or disagrees with the parts (called by `ExperimentRunner.load`).
    func checkExtras(_ data: ExperimentData) throws
}

extension Experiment {
    public var extraFiles: Set<String> { [] }
    public var mainFigure: String? { nil }
    public func checkExtras(_ data: ExperimentData) throws {}

    /// Trains every part of ``partConfigs(_:)`` from its own initialisation, in order, reporting progress under
    /// the part's name: the `train` of experiments whose parts are independent runs, so that what is trained is
    /// exactly what a loaded folder is checked against.
    public func trainParts(_ options: ExperimentOptions,
                           progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> [(name: String, run: TrainedRun)] {
        try partConfigs(options).map { part in
            let result = try Trainer(config: part.config, threads: options.threads).train { progress(part.name, $0) }
            return (part.name, TrainedRun(result: result, experiment: name))
        }
    }
}

/// Every experiment, in the order `tms list` and `tms run all` use.
public let experimentCatalog: [any Experiment] = [
    IntroExperiment(), SparsitySweepExperiment(), FeaturesAcrossSparsityExperiment(),
    PhaseDiagramExperiment(), GeometryExperiment(), NonUniformExperiment(),
    CorrelatedExperiment(), PrivilegedBasisExperiment(), ComputationExperiment(),
    LearningDynamicsExperiment(), DoubleDescentExperiment(), AdversarialExperiment(), SAEExperiment(),
    PolysemanticityWithoutSuperpositionExperiment(),
    HighDimensionalExperiment(),
    InterferenceToleranceExperiment(),
    PowerLawExperiment(),
]

/// The experiment called `name`, or a one-line error listing the allowed names.
public func experiment(named name: String) throws -> any Experiment {
    guard let found = experimentCatalog.first(where: { $0.name == name }) else {
        throw RunFolderError("unknown experiment '\(name)'; choose one of: \(experimentCatalog.map(\.name).joined(separator: ", ")), all")
    }
    return found
}

/// Formats a number compactly for claims and tables.
func fmt(_ x: Double, _ digits: Int = 3) -> String {
    if x.isNaN { return "nan" }
    if x == 0 { return "0" }
    let magnitude = Swift.abs(x)
    if magnitude >= 1e-3 && magnitude < 1e5 {
        var s = String(format: "%.\(digits)f", x)
        if s.contains(".") { while s.hasSuffix("0") { s.removeLast() }; if s.hasSuffix(".") { s.removeLast() } }
        return s == "-0" ? "0" : s
    }
    return String(format: "%.\(digits)g", x)
}

/// "1 − S = p" for a panel title, from the config (never hard-coded).
func densityTitle(_ p: Float) -> String { "1 − S = \(fmt(Double(p), 4))" }
