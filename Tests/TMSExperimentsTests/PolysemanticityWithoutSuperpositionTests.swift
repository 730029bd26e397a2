import Foundation
import Testing
import TMSCore
import TMSModels
@testable import TMSExperiments

// PolysemanticityWithoutSuperposition.swift: the x·y MLP and orthogonal features against superposition controls.

@Suite struct PolysemanticityWithoutSuperpositionTests {
    @Test func polysemanticityWithoutSuperpositionQuickPassesItsChecks() throws {
        let checks = try quickChecks(PolysemanticityWithoutSuperpositionExperiment())
        #expect(checks.count == 6)
        for c in checks { #expect(c.passed, "\(c.claim): \(c.measured)") }
        #expect(check(checks, containing: "(a) The MLP's neurons are polysemantic")?.measured.contains("polysemantic, no superposition") == true)
        #expect(check(checks, containing: "pentagon")?.measured.contains("verdict \"superposition\"") == true)
    }

    @Test(arguments: [(45.0, 0.0), (135.0, 0.0), (-45.0, 0.0), (-135.0, 0.0), (0.0, 45.0), (50.0, 5.0), (-100.0, 35.0), (170.0, 35.0)])
    func offDiagonalMeasuresTheAngleToTheNearestDiagonal(angle: Double, expected: Double) {
        let r = angle * Double.pi / 180
        #expect(Swift.abs(PolysemanticityWithoutSuperpositionExperiment.offDiagonal(2 * cos(r), 2 * sin(r)) - expected) < 1e-9)
    }

    @Test func damagedMLPFileIsRefusedInOneLine() throws {
        let e = PolysemanticityWithoutSuperpositionExperiment()
        let bad = Safetensors.encode(["fc1.weight": Tensor(shape: [3, 2], values: [Float](repeating: 0, count: 6))], metadata: [:])
        let data = ExperimentData(parts: [], extras: [PolysemanticityWithoutSuperpositionExperiment.mlpFile: Foundation.Data(bad)])
        #expect(throws: (any Error).self) { try e.checkExtras(data) }
        do { try e.checkExtras(data) } catch { #expect(!"\(error)".contains("\n")) }
        // A file the trainer wrote reads back as the same model.
        let outcome = TMSModels.ProductMLPTrainer(hiddenCount: 3, steps: 5, batchSize: 4).train()
        let good = ExperimentData(parts: [], extras: [PolysemanticityWithoutSuperpositionExperiment.mlpFile: PolysemanticityWithoutSuperpositionExperiment.encode(outcome)])
        let decoded = try PolysemanticityWithoutSuperpositionExperiment.decodeMLP(good)
        #expect(decoded.model == outcome.model && decoded.losses == outcome.losses)
    }
}
