import Foundation
import Testing
@testable import TMSRender

/// A rendered figure with a name, so parameterised tests read well.
struct NamedFigure: Sendable, CustomTestStringConvertible {
    let name: String
    let render: @Sendable () -> String
    var testDescription: String { name }
}

let pentagon: [[Double]] = (0..<5).map { (k: Int) -> [Double] in
    let angle = 2 * Double.pi * Double(k) / 5
    return [cos(angle), sin(angle)]
}
let gram: [[Double]] = pentagon.map { a in pentagon.map { b in a[0] * b[0] + a[1] * b[1] } }

func featurePanel(_ title: String) -> FeatureDiagramPanel {
    FeatureDiagramPanel(title: title, directions: pentagon, importance: (0..<5).map { pow(0.9, Double($0)) })
}

let tinyFigures: [NamedFigure] = [
    NamedFigure(name: "featureDiagram2D") {
        Figures.featureDiagram2D(panels: [featurePanel("1 − S = 1"), featurePanel("1 − S = 0.1")], title: "intro")
    },
    NamedFigure(name: "gramAndNorms") {
        Figures.gramAndNorms(gram: gram, norms: [1, 1, 0.9, 0.2, 0], superposition: [0, 0.3, 1, 0.5, 0], hiddenCount: 2,
                             title: "1 − S = 0.1")
    },
    NamedFigure(name: "dimensionalityPlot") {
        Figures.dimensionalityPlot(title: "n = 5, m = 2", sparsityAxisValues: [1, 10, 100], dimensionsPerFeature: [1, 0.5, 0.4],
                                   featureDimensionality: [[1, 1, 0], [0.5, 0.5, 0.5], [0.4, 0.4, 0.4]])
    },
    NamedFigure(name: "featureGeometryGraph") {
        Figures.featureGeometryGraph(title: "geometry", edgeWeights: [[1, 0.9, 0, 0], [0.9, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]],
                                     norms: [1, 1, 1, 0], groups: [0, 0, 1, nil], threshold: 0.1)
    },
    NamedFigure(name: "phaseDiagram") {
        Figures.phaseDiagram(title: "n = 2, m = 1", xValues: [0.1, 1, 10], yValues: [0.01, 0.1, 1],
                             phases: [[2, 2, 2], [0, 2, 1], [0, 0, 1]], phaseNames: ["not learned", "dedicated", "superposition"],
                             boundaries: [[Point(0.1, 0.02), Point(10, 0.5)]])
    },
    NamedFigure(name: "phaseDiagram side by side") {
        let panel = PhaseDiagramPanel(title: "learned", xValues: [0.5, 2], yValues: [0.1, 0.9], phases: [[0, 1], [2, 7]])
        var theory = panel
        theory.title = "theory"
        return Figures.phaseDiagram(title: "n = 3, m = 2", panels: [panel, theory], phaseNames: ["a", "b", "c"])
    },
    NamedFigure(name: "neuronHeatmap") { Figures.neuronHeatmap(title: "W", weights: [[1, -1, 0], [0.5, 0, -0.25]]) },
    NamedFigure(name: "neuronStackedBars byFeature") {
        Figures.neuronStackedBars(title: "neurons", loadings: [[1, -0.5, 0.25], [0, 2, 0]], colouring: .byFeature)
    },
    NamedFigure(name: "neuronStackedBarsPair polysemanticity") {
        Figures.neuronStackedBarsPair(title: "abs", w1: [[2, -0.5], [0, 1], [1, 1]], w2: [[0.5, 0, 1], [2, 1, -1]],
                                      colouring: .polysemanticity)
    },
    NamedFigure(name: "lossCurves log") {
        Figures.lossCurves(title: "loss", series: [Series(label: "pentagon", steps: [0, 1, 2], values: [1, 0.1, 0.01]),
                                                   Series(label: "digons", steps: [0, 1, 2], values: [1, 0, .nan], dashed: true)])
    },
    NamedFigure(name: "lossCurves linear") {
        Figures.lossCurves(title: "fraction of latents active", series: [Series(label: "L1 = 0.1", steps: [0, 10], values: [1, 0.2])],
                           logY: false, yLabel: "fraction active")
    },
]

@Suite(.serialized) struct FigureTests {
    @Test(arguments: tinyFigures)
    func figureIsWellFormedStandaloneSVG(_ figure: NamedFigure) {
        let svg = figure.render()
        #expect(xmlProblem(svg) == nil)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!svg.contains("NaN") && !svg.contains("inf"))
    }

    /// Compares with Tests/TMSRenderTests/Golden/<name>.svg; see Golden.swift to rewrite after an intended change.
    @Test(arguments: tinyFigures)
    func figureMatchesItsGoldenFile(_ figure: NamedFigure) throws {
        try expectMatchesGolden(figure.render(), named: goldenFileName(figure.name, extension: "svg"))
    }

    @Test(arguments: tinyFigures)
    func everyMarkHasHoverText(_ figure: NamedFigure) {
        let svg = figure.render()
        for mark in ["circle", "polyline"] {
            #expect(occurrences(of: "<\(mark) ", in: svg) == occurrences(of: "</\(mark)>", in: svg), "\(mark) without <title>")
        }
    }

    @Test func panelTitleComesFromTheParameter() {
        let dense = Figures.featureDiagram2D(panels: [featurePanel("1 − S = 0.1")])
        let sparse = Figures.featureDiagram2D(panels: [featurePanel("1 − S = 0.01")])
        #expect(dense.contains(">1 − S = 0.1<") && !dense.contains("0.01"))
        #expect(sparse.contains(">1 − S = 0.01<"))
    }

    @Test func titleTextIsEscaped() {
        let svg = Figures.lossCurves(title: "<script>alert(1)</script>", series: [])
        #expect(!svg.contains("<script>"))
        #expect(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(xmlProblem(svg) == nil)
    }

    @Test func featureDiagramDrawsOneRayAndDotPerFeature() {
        let svg = Figures.featureDiagram2D(panels: [featurePanel("p")])
        #expect(occurrences(of: "<title>feature ", in: svg) == 10)
        #expect(svg.contains(ColorMap.viridis.hex(at: 1)))
    }

    @Test func gramAndNormsMarksTheHiddenCount() {
        let svg = Figures.gramAndNorms(gram: gram, norms: [1, 1, 1, 1, 1], superposition: [], hiddenCount: 2, title: "t")
        #expect(svg.contains(">m = 2<"))
        #expect(occurrences(of: ": ‖Wᵢ‖ = ", in: svg) == 5)
        #expect(occurrences(of: ": Wᵢ·Wⱼ = ", in: svg) == 25)
    }

    @Test func dimensionalityPlotLabelsReferenceFractions() {
        let svg = tinyFigures[2].render()
        for label in [">1<", ">3/4<", ">2/3<", ">1/2<", ">2/5<", ">3/8<"] { #expect(svg.contains(label)) }
    }

    @Test func geometryGraphDrawsEdgesAboveThresholdOnly() {
        let svg = tinyFigures[3].render()
        #expect(occurrences(of: "<title>features ", in: svg) == 1)
        #expect(svg.contains("not represented"))
    }

    @Test func neuronHeatmapUsesTheDivergingEndsAndWhite() {
        let svg = tinyFigures[6].render()
        for hex in ["#2166ac", "#b2182b", "#ffffff"] { #expect(svg.contains("fill=\"\(hex)\"")) }
    }

    @Test func stackedBarsPutNegativeLoadingsLeftOfZero() {
        let svg = Figures.neuronStackedBars(title: "t", loadings: [[1, -1]])
        // The axis is ±1 over 250 px from x = 52, so 0 sits at 177; the −1 segment spans 52…177.
        #expect(svg.contains("<rect x=\"52\" y=\"64.2\" width=\"125\""))
        #expect(svg.contains("<rect x=\"177\" y=\"64.2\" width=\"125\""))
    }

    @Test func animationIsOneElementWithASVGPerFrameAndNoNetwork() {
        let frames = (0..<3).map { AnimationFrame(step: 100 * $0, directions: pentagon.map { $0.map { $0 * 0.5 } }) }
        let html = Figures.trainingAnimation2D(title: "digons <forming>", frames: frames, importance: [1, 1, 1, 1, 1])
        #expect(xmlProblem(html) == nil)
        #expect(occurrences(of: "<svg ", in: html) == 3)
        #expect(html.contains("type=\"range\"") && html.contains(">play</button>") && html.contains("[0,100,200]"))
        #expect(!html.contains("http") && !html.contains("src="))
        #expect(html == Figures.trainingAnimation2D(title: "digons <forming>", frames: frames, importance: [1, 1, 1, 1, 1]))
    }

    @Test func emptyInputsStillRender() {
        #expect(xmlProblem(Figures.featureDiagram2D(panels: [])) == nil)
        #expect(xmlProblem(Figures.gramAndNorms(gram: [], norms: [], superposition: [], hiddenCount: 0, title: "")) == nil)
        #expect(xmlProblem(Figures.dimensionalityPlot(title: "", sparsityAxisValues: [], dimensionsPerFeature: [], featureDimensionality: [])) == nil)
        #expect(xmlProblem(Figures.featureGeometryGraph(title: "", edgeWeights: [], norms: [], groups: [], threshold: 0)) == nil)
        #expect(xmlProblem(Figures.phaseDiagram(title: "", panels: [], phaseNames: [])) == nil)
        #expect(xmlProblem(Figures.neuronHeatmap(title: "", weights: [])) == nil)
        #expect(xmlProblem(Figures.neuronStackedBars(title: "", loadings: [])) == nil)
        #expect(xmlProblem(Figures.trainingAnimation2D(title: "", frames: [], importance: [])) == nil)
    }
}

struct GeometryGraphTests {
    @Test(arguments: [(1, 1.0, "dedicated"), (2, 0.5, "digon"), (3, 0.66, "triangle"), (4, 0.75, "tetrahedron"),
                      (5, 0.41, "pentagon"), (8, 0.375, "square antiprism"), (22, 0.3, "22 features, D ≈ 0.3")])
    func shapesAreNamedBySizeAndDimensionality(size: Int, d: Double, name: String) {
        #expect(Figures.shapeName(size: size, meanDimensionality: d) == name)
    }

    @Test func groupsAreLabelledByShape() {
        // Features 0, 1: an antipodal pair (|Ŵ_i·W_j| = 1, D = 1/2); feature 2 alone (D = 1); feature 3 not represented.
        let svg = tinyFigures[3].render()
        #expect(svg.contains(">digon</text>") && svg.contains(">dedicated</text>") && svg.contains(">not represented (1)</text>"))
    }

    @Test func largeGroupIsSpreadOutNotOnOneCircle() {
        // A 30-node ring: every node linked to its two neighbours.
        let n = 30
        let edges = (0..<n).map { i in (0..<n).map { j in (abs(i - j) == 1 || abs(i - j) == n - 1) ? 0.5 : (i == j ? 1 : 0) } }
        let svg = Figures.featureGeometryGraph(title: "ring", edgeWeights: edges, norms: Array(repeating: 1, count: n),
                                               groups: Array(repeating: 0, count: n), threshold: 0.1)
        #expect(xmlProblem(svg) == nil)
        #expect(occurrences(of: "<title>features ", in: svg) == n)
        let layout = Figures.forceLayout(members: Array(0..<n), weight: { edges[$0][$1] }, threshold: 0.1)
        let distinct = Set(layout.map { "\(Int($0.x * 50)),\(Int($0.y * 50))" })
        #expect(distinct.count == n)
        #expect(layout.allSatisfy { $0.x >= 0 && $0.x <= 1 && $0.y >= 0 && $0.y <= 1 })
    }
}

struct PhaseDiagramMarkTests {
    @Test func disagreeingCellsAreCrossedAndBoundariesAreInTheLegend() {
        let learned = PhaseDiagramPanel(title: "learned", xValues: [0.5, 2], yValues: [0.1, 0.9], phases: [[0, 1], [2, 2]],
                                        boundaries: [[Point(0.5, 0.1), Point(2, 0.9)]], marked: [[false, true], [true, false]])
        let svg = Figures.phaseDiagram(title: "n = 3, m = 2", panels: [learned], phaseNames: ["a", "b", "c"])
        #expect(xmlProblem(svg) == nil)
        #expect(occurrences(of: ": learned phase differs from theory</title>", in: svg) == 2)
        #expect(svg.contains(">theory boundary</text>") && svg.contains(">learned phase differs from theory</text>"))
    }
}

struct FeatureColourTests {
    /// Distinct fill colours of the feature dots (circles with a "feature …" hover title).
    func dotColours(_ svg: String) -> Set<String> {
        Set(svg.components(separatedBy: "<circle ").dropFirst().map { $0.components(separatedBy: "</circle>")[0] }
            .filter { $0.contains("<title>feature ") }.compactMap { piece in
            piece.range(of: "fill=\"").map { String(piece[$0.upperBound...].prefix(7)) }
        })
    }

    @Test func uniformImportanceGivesEachFeatureItsOwnLabelledColour() {
        let svg = Figures.featureDiagram2D(panels: [FeatureDiagramPanel(title: "p", directions: pentagon, importance: [1, 1, 1, 1, 1])])
        #expect(dotColours(svg).count == 5)
        #expect(svg.contains(">feature 4</text>"))
    }

    @Test func varyingImportanceIsStretchedOverTheWholeColourMap() {
        let svg = Figures.featureDiagram2D(panels: [featurePanel("p")])  // 0.9^i: 1 … 0.656
        let colours = dotColours(svg)
        #expect(colours.count == 5)
        #expect(colours.contains(ColorMap.viridis.hex(at: 0)) && colours.contains(ColorMap.viridis.hex(at: 1)))
        #expect(svg.contains(">0.656</text>") && svg.contains(">importance I"))
    }

    @Test func highlightedFeatureStandsOut() {
        let svg = Figures.featureDiagram2D(panels: [FeatureDiagramPanel(title: "p", directions: pentagon, importance: [1, 1, 1, 1, 1])],
                                           highlighted: 0)
        #expect(dotColours(svg) == [Figures.highlightColor, "#7f8fa6"])
        #expect(svg.contains(">feature 0</text>") && svg.contains(">other features</text>"))
    }
}
