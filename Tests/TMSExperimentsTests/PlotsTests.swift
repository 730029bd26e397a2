import Foundation
import Testing
@testable import TMSExperiments
import TMSModels

// Plots.swift: figures of trained runs, multi-panel figures stacked into one SVG document.

@Suite struct PlotsTests {
    func tinyRun(model: ModelKind = .reluOutput, instances: Int = 2) throws -> TrainedRun {
        let config = TrainingConfig.standard(model: model, featureCount: 5, hiddenCount: 2,
                                             featureProbabilities: [Float](repeating: 0.1, count: instances),
                                             importanceDecay: 0.9, steps: 3, batchSize: 8)
        return TrainedRun(result: try Trainer(config: config, threads: 1).train())
    }

    /// The numeric value of `name="…"` in the root element of `svg`.
    func rootAttribute(_ name: String, of svg: String) -> Double? {
        guard let end = svg.firstIndex(of: ">"), let range = svg[..<end].range(of: " \(name)=\"") else { return nil }
        return Double(svg[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func gramGridLaysSmallModelsOutAsOneColumnPerInstance() throws {
        let run = try tinyRun()
        let one = Plots.gramGrid(run, instances: [0], title: "t"), two = Plots.gramGrid(run, instances: [0, 1], title: "t")
        for svg in [one, two] {
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
            #expect(svg.components(separatedBy: "<svg ").count - 1 == 1)
        }
        // Columns side by side: one row of panels of the same height, each titled (both instances share
        // 1 − S = 0.1, so their titles name the instance).
        #expect(rootAttribute("height", of: two) == rootAttribute("height", of: one))
        #expect(try #require(rootAttribute("width", of: two)) >= #require(rootAttribute("width", of: one)))
        #expect(two.contains("instance 0") && two.contains("instance 1") && !one.contains("instance 1"))
    }

    @Test func gramGridStacksTopFeaturesAndHistogramsPerInstanceAboveTheLimit() throws {
        let n = Plots.gramFeatureLimit + 40
        let config = TrainingConfig.standard(model: .reluOutput, featureCount: n, hiddenCount: 2,
                                             featureProbabilities: [0.01, 0.01], importanceDecay: 1, steps: 2, batchSize: 4)
        let run = TrainedRun(result: try Trainer(config: config, threads: 1).train())
        let one = Plots.gramGrid(run, instances: [0], title: "t"), two = Plots.gramGrid(run, instances: [0, 1], title: "t")
        // Per instance: the WᵀW of the 400 largest norms and the histograms, each a nested <svg> of the stack.
        #expect(one.components(separatedBy: "<svg ").count - 1 == 3)
        #expect(two.components(separatedBy: "<svg ").count - 1 == 5)
        #expect(one.contains("the 400 largest") && one.contains("All \(n) features"))
        let height = try #require(rootAttribute("height", of: one))
        #expect(rootAttribute("height", of: two) == 2 * height)
        let offset = height == height.rounded() ? String(Int(height)) : String(height)
        #expect(two.contains("<svg x=\"0\" y=\"\(offset)\" "))
    }

    @Test func neuronPlotsStackHeatmapAndBars() throws {
        for model in [ModelKind.reluHidden, .abs] {
            let svg = Plots.neuronPlots(try tinyRun(model: model, instances: 1), instance: 0)
            #expect(svg.components(separatedBy: "<svg ").count - 1 == 3, "\(model)")
            #expect(svg.contains("W by neuron") && svg.contains("Neuron loadings"))
        }
    }
}
