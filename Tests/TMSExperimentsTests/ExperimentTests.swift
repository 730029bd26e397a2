import Foundation
import Testing
@testable import TMSExperiments

// Experiment.swift: the catalog of named experiments.

@Suite("Experiment catalog")
struct CatalogTests {
    @Test func catalogHasTheIssuesNamesInOrder() {
        #expect(experimentCatalog.map(\.name) == ["intro", "sparsity-sweep", "features-across-sparsity", "phase-diagram", "geometry", "non-uniform",
                                                    "correlated", "privileged-basis", "computation", "learning-dynamics", "double-descent",
                                                    "adversarial", "sae", "polysemanticity-without-superposition", "high-dimensional", "interference-tolerance", "power-law"])
    }

    @Test func unknownNameIsAOneLineErrorListingTheNames() {
        #expect(throws: RunFolderError("unknown experiment 'pentagon'; choose one of: intro, sparsity-sweep, features-across-sparsity, phase-diagram, geometry, non-uniform, correlated, privileged-basis, computation, learning-dynamics, double-descent, adversarial, sae, polysemanticity-without-superposition, high-dimensional, interference-tolerance, power-law, all")) {
            try experiment(named: "pentagon")
        }
    }
}
