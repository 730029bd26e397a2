import Foundation
import TMSCore
import TMSModels

// The parts each experiment trains, with their configs (`Experiment.partConfigs`), so that a loaded
// experiment folder is checked against what its recipe would write before any analysis reads it.

extension IntroExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("model", config(options))]
    }

    public var extraFiles: Set<String> { ["snapshots.safetensors"] }

    /// The snapshots, if saved, must decode to weights of the model part's shape at steps within training.
    public func checkExtras(_ data: ExperimentData) throws {
        guard let tensors = try data.extraTensors("snapshots.safetensors") else { return }
        let c = try data.part("model").config
        guard let steps = tensors["step"], steps.shape.count == 1, steps.shape[0] >= 1 else {
            throw WeightsFileError("snapshots.safetensors has no 'step' tensor of shape [S], S ≥ 1")
        }
        let S = steps.shape[0], K = c.instanceCount, m = c.hiddenCount, n = c.featureCount
        let expected: [String: [Int]] = ["W": [S, K, m, n], "b_final": [S, K, n], "step": [S]]
        guard Set(tensors.keys) == Set(expected.keys) else {
            throw WeightsFileError("snapshots.safetensors holds \(tensors.keys.sorted()); expected \(expected.keys.sorted())")
        }
        for (name, shape) in expected where tensors[name]!.shape != shape {
            throw WeightsFileError("snapshots.safetensors: tensor '\(name)' has shape \(tensors[name]!.shape); the model part needs \(shape)")
        }
        for name in expected.keys where !tensors[name]!.values.allSatisfy(\.isFinite) {
            throw WeightsFileError("snapshots.safetensors: tensor '\(name)' holds a non-finite value")
        }
        guard steps.values.allSatisfy({ $0 >= 0 && $0 <= Float(c.steps) && $0 == $0.rounded() }) else {
            throw WeightsFileError("snapshots.safetensors: 'step' values must be whole steps in 0...\(c.steps)")
        }
    }
}

extension SparsitySweepExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [ModelKind.linear, .reluOutput].map { ($0.rawValue, config($0, options)) } + [(Self.largeName, largeConfig(options))]
    }
}

extension FeaturesAcrossSparsityExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("model", config(options))]
    }
}

extension PhaseDiagramExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [(2, 1), (3, 2)].map { ("n\($0.0)-m\($0.1)", config(featureCount: $0.0, hiddenCount: $0.1, options)) }
    }
}

extension GeometryExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("model", config(options))]
    }
}

extension NonUniformExperiment {
    /// The free models and the two warm-started branches; `train` trains exactly these.
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        let free = config(options, steps: options.steps(full: 10_000, quick: 3_000), bestOf: options.quick ? 3 : 4)
        let branch = config(options, steps: options.steps(full: 6_000, quick: 6_000), bestOf: 1)
        return [("free", free), ("pentagon", branch), ("digons", branch)]
    }
}
