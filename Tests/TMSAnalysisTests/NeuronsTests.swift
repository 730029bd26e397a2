import Foundation
import Testing
import TMSCore
import TMSAnalysis

// Neurons.swift: monosemanticity per neuron (rows of W).

@Test func monosemanticNeuronsEachCarryOneFeature() {
    // Neuron k loads on feature k (negative loadings count by their square), with a little noise.
    let w = Matrix(rows: [[1, 0.05, 0, 0], [0, -2, 0.1, 0], [0, 0, 0, 0.5]])
    let s = neuronSummary(of: w)
    #expect(s.dominantFeature == [0, 1, 3])
    #expect(Swift.abs(s.monosemanticity[0] - 1 / 1.0025) < 1e-6)
    #expect(Swift.abs(s.monosemanticity[1] - 4 / 4.01) < 1e-6)
    #expect(s.monosemanticity[2] == 1)
    #expect(s.monosemanticCount == 3)
    #expect(zip(s.polysemanticity, s.monosemanticity).allSatisfy { Swift.abs($0 + $1 - 1) < 1e-12 })
    #expect(s.threshold == 0.9)
}

@Test func polysemanticNeuronsSpreadTheirLoadings() {
    // Neuron 0: loadings (1, −1, 0.5) → 1/2.25; neuron 1: (0.6, 0.8, 0) → 0.64 on feature 1.
    let w = Matrix(rows: [[1, -1, 0.5], [0.6, 0.8, 0]])
    let s = neuronSummary(of: w)
    #expect(Swift.abs(s.monosemanticity[0] - 1 / 2.25) < 1e-6)
    #expect(Swift.abs(s.monosemanticity[1] - 0.64) < 1e-6)
    #expect(s.dominantFeature[1] == 1)
    #expect(s.monosemanticCount == 0)
    #expect(Swift.abs(s.polysemanticity[1] - 0.36) < 1e-6)
    // A lower threshold counts neuron 1 as monosemantic.
    #expect(neuronSummary(of: w, threshold: 0.6).monosemanticCount == 1)
}

@Test func deadNeuronIsNeitherMonosemanticNorPolysemantic() {
    let s = neuronSummary(of: Matrix(rows: [[0, 0, 0], [0, 3, 0]]))
    #expect(s.monosemanticity == [0, 1])
    #expect(s.polysemanticity == [0, 0])
    #expect(s.dominantFeature == [nil, 1])
    #expect(s.monosemanticCount == 1)
}

@Test func neuronMeasuresAreNotRotationInvariant() {
    // Rotating a monosemantic basis by 45° makes both neurons read both features equally.
    let w = Matrix(rows: [[1, 0], [0, 1]])
    let r = Float(0.5.squareRoot())
    let rotated = Matrix(rows: [[r, -r], [r, r]])
    #expect(neuronSummary(of: w).monosemanticCount == 2)
    let s = neuronSummary(of: rotated)
    #expect(s.monosemanticity.allSatisfy { Swift.abs($0 - 0.5) < 1e-6 })
    #expect(s.monosemanticCount == 0)
}

@Test func deadNeuronsDominantFeatureIsNullInJSON() throws {
    let s = neuronSummary(of: Matrix(rows: [[0, 0, 0], [0, 3, 0]]))
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let json = String(decoding: try encoder.encode(s), as: UTF8.self)
    #expect(json.contains("\"dominantFeature\":[null,1]"))
    #expect(try JSONDecoder().decode(NeuronSummary.self, from: Data(json.utf8)) == s)
}
