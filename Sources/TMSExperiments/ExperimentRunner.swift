import Foundation
import TMSCore
import TMSModels

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
}

/// Runs experiments into run folders and rebuilds their reports.
public enum ExperimentRunner {
    /// Trains, analyses and writes `experiment` into the new folder `out` (atomically).
    public static func run(_ experiment: any Experiment, options: ExperimentOptions, out: URL,
                           progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentOutcome {
        try RunFolder.checkWritable(out)
        let start = Date()
        let data = try experiment.train(options, progress: progress)
        let analysis = experiment.analyse(data, options: options)
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
        return ExperimentOutcome(folder: out, checks: analysis.checks, seconds: seconds)
    }

    /// Loads a folder written by `run`.
    public static func load(_ folder: URL) throws -> (experiment: any Experiment, record: ExperimentRecord, data: ExperimentData) {
        let record = try RunFolder.decodeJSON(ExperimentRecord.self, from: folder.appendingPathComponent("experiment.json"))
        let experiment = try TMSExperiments.experiment(named: record.experiment)
        var parts: [(name: String, run: TrainedRun)] = []
        for name in record.parts {
            let partFolder = folder.appendingPathComponent(name)
            let (config, weights) = try TrainedRun.loadWeights(from: partFolder)
            let metrics = try RunFolder.decodeJSON(RunMetrics.self, from: partFolder.appendingPathComponent("metrics.json"))
            parts.append((name, TrainedRun(config: config, weights: weights, metrics: metrics, experiment: record.experiment)))
        }
        var extras: [String: Foundation.Data] = [:]
        for name in record.extras {
            extras[name] = try Foundation.Data(contentsOf: folder.appendingPathComponent(name))
        }
        return (experiment, record, ExperimentData(parts: parts, extras: extras))
    }

    /// Rebuilds figures/, checks.json and report.html of an experiment folder from its saved data.
    public static func rebuildReport(_ folder: URL) throws -> [Check] {
        let (experiment, record, data) = try load(folder)
        let analysis = experiment.analyse(data, options: record.options)
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
