import Foundation
import TMSCore
import TMSModels
import TMSRender

/// `experiment.json`: which experiment a folder holds, its options and parts.
public struct ExperimentRecord: Codable, Sendable {
    public var tool = "tms"
    public var version = tmsVersion
    public var experiment: String
    public var options: ExperimentOptions
    /// Part names; each part is a run folder in a subfolder of that name.
    public var parts: [String]
    public var extras: [String]
    /// Wall-clock seconds of training and analysis.
    public var seconds: Double
}

/// The outcome of `tms run NAME`.
public struct ExperimentOutcome: Sendable {
    public let folder: URL
    public let checks: [Check]
    public let seconds: Double
    /// The figure files the analysis saved under figures/, in report order.
    public let figures: [String]
}

extension ExperimentOutcome {
    /// The row of `tms run all`'s index page for this run, whose folder is `<name>/` next to index.html: its
    /// pass count, whether it was quick, and as thumbnail the experiment's `mainFigure` if the analysis saved
    /// it, else the first saved figure (none if it saved none).
    public func indexEntry(_ experiment: any Experiment, options: ExperimentOptions, summary: String) -> IndexEntry {
        let passed = checks.filter(\.passed).count
        let main = experiment.mainFigure.flatMap { figures.contains($0) ? $0 : nil } ?? figures.first
        return IndexEntry(name: experiment.name, href: "\(experiment.name)/report.html", summary: summary,
                          passed: passed, failed: checks.count - passed, quick: options.quick,
                          thumbnail: main.map { "\(experiment.name)/figures/\($0)" })
    }
}

/// Runs experiments into run folders and rebuilds their reports.
public enum ExperimentRunner {
    /// Trains, analyses and writes `experiment` into the new folder `out` (atomically).
    public static func run(_ experiment: any Experiment, options: ExperimentOptions, out: URL,
                           progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentOutcome {
        try RunFolder.checkWritable(out)
        let start = Date()
        let data = try experiment.train(options, progress: progress)
        let expected = experiment.partConfigs(options)
        guard data.parts.map(\.name) == expected.map(\.name), zip(data.parts, expected).allSatisfy({ $0.run.config == $1.config }) else {
            // A recipe whose partConfigs disagree with its train would write folders that cannot be loaded.
            throw RunFolderError("internal error: \(experiment.name) trained parts that differ from its partConfigs")
        }
        let analysis = try experiment.analyse(data, options: options)
        let seconds = Date().timeIntervalSince(start)
        let record = ExperimentRecord(experiment: experiment.name, options: options, parts: data.parts.map(\.name),
                                      extras: data.extras.keys.sorted(), seconds: seconds)
        var files = data.extras
        for (name, run) in data.parts {
            for (file, bytes) in try run.files() { files["\(name)/\(file)"] = bytes }
        }
        files["experiment.json"] = try RunFolder.json(record)
        files.merge(try reportFiles(experiment: experiment, record: record, data: data, analysis: analysis)) { $1 }
        try RunFolder.write(files, to: out)
        return ExperimentOutcome(folder: out, checks: analysis.checks, seconds: seconds, figures: analysis.figures.compactMap(\.file))
    }

    /// Loads a folder written by `run`, checking everything an analysis relies on: `experiment.json` names a
    /// known experiment with valid options, its parts are exactly the experiment's parts, each part is a
    /// consistent run folder (`TrainedRun.load`) whose config is the one the experiment trains for those
    /// options, and its extra files are the experiment's and readable. Throws one line naming the file.
    public static func load(_ folder: URL) throws -> (experiment: any Experiment, record: ExperimentRecord, data: ExperimentData) {
        let recordURL = folder.appendingPathComponent("experiment.json")
        let record = try RunFolder.decodeJSON(ExperimentRecord.self, from: recordURL)
        try RunConfigFile.checkTool(record.tool, version: record.version, in: recordURL)
        let experiment = try TMSExperiments.experiment(named: record.experiment)
        if let steps = record.options.steps, !(1...TrainingConfig.Limits.steps).contains(steps) {
            throw RunFolderError("\(recordURL.path): options.steps \(steps) is invalid; it must be in 1...\(TrainingConfig.Limits.steps)")
        }
        let expected = experiment.partConfigs(record.options)
        guard record.parts == expected.map(\.name) else {
            throw RunFolderError("\(recordURL.path): parts \(record.parts) are not the parts of \(experiment.name), \(expected.map(\.name))")
        }
        guard Set(record.extras).isSubset(of: experiment.extraFiles), Set(record.extras).count == record.extras.count else {
            throw RunFolderError("\(recordURL.path): extras \(record.extras) are not files \(experiment.name) writes (\(experiment.extraFiles.sorted()))")
        }
        var parts: [(name: String, run: TrainedRun)] = []
        for (name, config) in expected {
            let run = try TrainedRun.load(from: folder.appendingPathComponent(name), experiment: record.experiment)
            if run.config != config {
                throw RunFolderError("\(folder.appendingPathComponent(name).appendingPathComponent("config.json").path): the config is not the one \(experiment.name) trains for the options in experiment.json (\(firstDifference(run.config, config)))")
            }
            parts.append((name, run))
        }
        var extras: [String: Foundation.Data] = [:]
        for name in record.extras {
            let url = folder.appendingPathComponent(name)
            do { extras[name] = try Foundation.Data(contentsOf: url) } catch {
                throw RunFolderError("cannot read \(url.path): \(RunFolder.describe(error))")
            }
        }
        let data = ExperimentData(parts: parts, extras: extras)
        try experiment.checkExtras(data)
        return (experiment, record, data)
    }

    /// The first field in which two configs differ, as "field: found vs expected".
    static func firstDifference(_ a: TrainingConfig, _ b: TrainingConfig) -> String {
        let fields: [(String, (TrainingConfig) -> String)] = [
            ("model", { $0.model.rawValue }), ("featureCount", { "\($0.featureCount)" }), ("hiddenCount", { "\($0.hiddenCount)" }),
            ("instanceCount", { "\($0.instanceCount)" }), ("featureProbability", { "\($0.featureProbability)" }),
            ("importance", { "\($0.importance)" }), ("distribution", { $0.distribution.rawValue }), ("steps", { "\($0.steps)" }),
            ("batchSize", { "\($0.batchSize)" }), ("learningRate", { "\($0.learningRate)" }), ("schedule", { $0.schedule.rawValue }),
            ("warmupSteps", { "\($0.warmupSteps)" }), ("optimizer", { $0.optimizer.rawValue }), ("weightDecay", { "\($0.weightDecay)" }),
            ("beta1", { "\($0.beta1)" }), ("beta2", { "\($0.beta2)" }), ("epsilon", { "\($0.epsilon)" }), ("bestOf", { "\($0.bestOf)" }),
            ("seed", { "\($0.seed)" }), ("evaluationBatches", { "\($0.evaluationBatches)" }), ("lossLogPoints", { "\($0.lossLogPoints)" }),
            ("initialisation", { $0.initialisation.rawValue }), ("initScale", { "\($0.initScale)" }), ("l1Penalty", { "\($0.l1Penalty)" }),
            ("correlatedSetSize", { $0.correlatedSetSize.map(String.init) ?? "not set" }),
        ]
        for (name, value) in fields where value(a) != value(b) {
            let found = value(a), wanted = value(b)
            return found.count + wanted.count < 120 ? "\(name): \(found) vs \(wanted)" : "\(name) differs"
        }
        return "a field differs"
    }

    /// Rebuilds figures/, checks.json and report.html of an experiment folder from its saved data.
    public static func rebuildReport(_ folder: URL) throws -> [Check] {
        let (experiment, record, data) = try load(folder)
        let analysis = try experiment.analyse(data, options: record.options)
        for (path, bytes) in try reportFiles(experiment: experiment, record: record, data: data, analysis: analysis) {
            try RunFolder.replaceFile(path, in: folder, with: bytes)
        }
        return analysis.checks
    }

    static func reportFiles(experiment: any Experiment, record: ExperimentRecord, data: ExperimentData,
                            analysis: ExperimentAnalysis) throws -> [String: Foundation.Data] {
        var files: [String: Foundation.Data] = ["checks.json": try RunFolder.json(analysis.checks)]
        for figure in analysis.figures {
            if let file = figure.file { files["figures/\(file)"] = Foundation.Data(figure.html.utf8) }
        }
        let passed = analysis.checks.filter(\.passed).count
        var summary: [(String, String)] = [
            ("experiment", experiment.name), ("reproduces", experiment.reproduces),
            ("setting", record.options.quick ? "quick" : "full"), ("seed", String(record.options.seed)),
            ("checks passed", "\(passed) / \(analysis.checks.count)"),
            ("runtime", String(format: "%.1f s", record.seconds)), ("tool", "tms \(record.version)"),
        ]
        if let steps = record.options.steps { summary.append(("steps (override)", String(steps))) }
        summary += analysis.summary
        var links = [("experiment.json", "experiment.json"), ("checks.json", "checks.json")]
        for name in record.parts {
            links += [("\(name)/config.json", "\(name)/config.json"), ("\(name)/weights.safetensors", "\(name)/weights.safetensors"),
                      ("\(name)/metrics.json", "\(name)/metrics.json")]
        }
        links += record.extras.map { ($0, $0) }
        links += analysis.figures.compactMap { $0.file.map { ("figures/\($0)", "figures/\($0)") } }
        let html = ReportPage.html(title: "tms run \(experiment.name)", subtitle: experiment.reproduces,
                                   summary: summary, figures: analysis.figures, checks: analysis.checks, links: links)
        files["report.html"] = Foundation.Data(html.utf8)
        return files
    }
}

extension TrainedRun {
    /// A run assembled from saved parts.
    public init(config: TrainingConfig, weights: ToyModelWeights, metrics: RunMetrics, experiment: String?) {
        self.config = config
        self.weights = weights
        self.metrics = metrics
        self.experiment = experiment
    }
}
