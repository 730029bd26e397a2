import TMSCore

/// Every feature-level measure of one instance, as stored in `metrics.json`.
public struct InstanceAnalysis: Sendable, Codable, Equatable {
    public let featureNorms: [Double]
    public let interference: [Double]
    public let featureDimensionality: [Double]
    /// D* = m/‖W‖_F².
    public let dimensionsPerFeature: Double
    /// Features with ‖W_i‖ > 0.5.
    public let representedFeatures: Int
    /// Neuron measures, for models with a privileged basis (nil otherwise).
    public let neurons: NeuronSummary?

    /// Analyses W (m×n); `privilegedBasis` adds the neuron measures.
    public init(weights W: Matrix, privilegedBasis: Bool) {
        featureNorms = TMSAnalysis.featureNorms(of: W)
        interference = TMSAnalysis.interference(of: W)
        featureDimensionality = TMSAnalysis.featureDimensionality(of: W)
        dimensionsPerFeature = TMSAnalysis.dimensionsPerFeature(of: W)
        representedFeatures = featureNorms.filter { $0 > 0.5 }.count
        neurons = privilegedBasis ? neuronSummary(of: W) : nil
    }
}
