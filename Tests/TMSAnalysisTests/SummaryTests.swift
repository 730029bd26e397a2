import Testing
import TMSCore
import TMSAnalysis

// Summary.swift: InstanceAnalysis gathers the individual measures.

@Test func instanceAnalysisGathersEveryFeatureMeasure() {
    let w = withZeroFeatures(tegum([regularPolygon(5), Matrix(rows: [[1]])]), 2)
    let a = InstanceAnalysis(weights: w, privilegedBasis: false)
    #expect(a.featureNorms == featureNorms(of: w))
    #expect(a.interference == interference(of: w))
    #expect(a.featureDimensionality == featureDimensionality(of: w))
    #expect(a.dimensionsPerFeature == dimensionsPerFeature(of: w))
    #expect(a.representedFeatures == 6)
    #expect(a.neurons == nil)
    // 3 dimensions over ‖W‖_F² = 6.
    #expect(Swift.abs(a.dimensionsPerFeature - 0.5) < 1e-6)
}

@Test func privilegedBasisAddsTheNeuronSummary() {
    let w = Matrix(rows: [[1, 0, 0.1], [0, 1, 0]])
    let a = InstanceAnalysis(weights: w, privilegedBasis: true)
    #expect(a.neurons == neuronSummary(of: w))
}
