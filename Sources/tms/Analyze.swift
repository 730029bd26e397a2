import ArgumentParser
import Foundation
import TMSAnalysis
import TMSExperiments

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute the analysis of a saved run folder from its weights.",
        discussion: "Prints per-instance feature norms, dimensionality and D*; --json prints the metrics as JSON.")

    @Argument(help: "A run folder written by tms train or tms run.") var folder: String
    @Flag(help: "Print the analysis as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let (config, weights) = try TrainedRun.loadWeights(from: URL(fileURLWithPath: folder))
            let analyses = RunMetrics.analyse(weights)
            if json {
                print(String(decoding: try RunFolder.json(analyses), as: UTF8.self))
                return
            }
            for (k, a) in analyses.enumerated() {
                let p = config.featureProbability[k][0]
                print(String(format: "instance %d  p = %.4g  D* = %.4g  represented %d/%d", k, Double(p),
                             a.dimensionsPerFeature, a.representedFeatures, config.featureCount))
                print("  norms:          " + a.featureNorms.map { String(format: "%.3f", $0) }.joined(separator: " "))
                print("  dimensionality: " + a.featureDimensionality.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
        }
    }
}
