import Foundation
import Testing
@testable import TMSExperiments

import TMSRender

// Experiment.swift: ExperimentData.part(_:) on data that lacks a part throws a one-line error; nothing traps.
// ExperimentRunner.swift: the index-page row of a run (quick flag, pass count, main-figure thumbnail).

@Suite("Experiment data parts")
struct ExperimentDataTests {
    @Test func missingPartIsAOneLineErrorNamingThePartsThere() {
        #expect(throws: RunFolderError("experiment data has no part 'model'; parts present: none")) {
            try ExperimentData(parts: []).part("model")
        }
    }

    @Test func everyExperimentsAnalysisThrowsOnDataWithoutParts() {
        let options = ExperimentOptions(quick: true, seed: 0, threads: 1)
        for experiment in experimentCatalog {
            #expect(throws: RunFolderError.self, "\(experiment.name)") {
                try experiment.analyse(ExperimentData(parts: []), options: options)
            }
        }
    }

    @Test func everyExperimentNamesItsMainFigure() {
        for experiment in experimentCatalog {
            #expect(experiment.mainFigure?.hasSuffix(".svg") == true, "\(experiment.name)")
        }
    }

    @Test func indexEntryHasQuickPassCountAndTheMainFigureAsThumbnail() {
        let checks = [Check(claim: "a", expected: "", measured: "", passed: true),
                      Check(claim: "b", expected: "", measured: "", passed: false)]
        let folder = URL(fileURLWithPath: "/tmp/all/intro")
        let outcome = ExperimentOutcome(folder: folder, checks: checks, seconds: 1,
                                        figures: ["loss-curves.svg", "feature-diagrams.svg"])
        let quick = ExperimentOptions(quick: true, seed: 0, threads: 1)
        #expect(outcome.indexEntry(IntroExperiment(), options: quick, summary: "s")
                == IndexEntry(name: "intro", href: "intro/report.html", summary: "s", passed: 1, failed: 1, quick: true,
                              thumbnail: "intro/figures/feature-diagrams.svg"))
        // A main figure the analysis did not save falls back to the first saved one; no figures, no thumbnail.
        let other = ExperimentOutcome(folder: folder, checks: checks, seconds: 1, figures: ["loss-curves.svg"])
        let full = ExperimentOptions(quick: false, seed: 0, threads: 1)
        #expect(other.indexEntry(IntroExperiment(), options: full, summary: "s").thumbnail == "intro/figures/loss-curves.svg")
        #expect(other.indexEntry(IntroExperiment(), options: full, summary: "s").quick == false)
        let none = ExperimentOutcome(folder: folder, checks: [], seconds: 1, figures: [])
        #expect(none.indexEntry(IntroExperiment(), options: full, summary: "s").thumbnail == nil)
    }
}
