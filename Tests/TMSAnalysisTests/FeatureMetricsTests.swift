import Foundation
import Testing
import TMSCore
import TMSAnalysis

// FeatureMetrics.swift: reference values of Elhage et al. (2022), "The Geometry of Superposition" / docs/analysis.md#feature-dimensionality on hand-written matrices.

struct ShapeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let weights: Matrix
    /// The dimensionality every feature has (a tight frame of k unit vectors in d dimensions: d/k).
    let dimensionality: Double
    /// Σ_{j≠i} (Ŵ_i·W_j)² for every feature.
    let interference: Double
    /// D* = m/‖W‖_F²; d/k for k unit features filling all d dimensions.
    let dimensionsPerFeature: Double
    /// The dimension of the span (the sum of the D_i over a tight frame).
    let span: Int
    var testDescription: String { name }

    static let all: [ShapeCase] = [
        ShapeCase(name: "antipodal pair", weights: Matrix(rows: [[1, -1]]), dimensionality: 1.0 / 2, interference: 1,
                  dimensionsPerFeature: 1.0 / 2, span: 1),
        // A digon in a 2-D model leaves one dimension unused: D* = 2/2.
        ShapeCase(name: "antipodal pair in 2-D", weights: regularPolygon(2, phase: 0.3), dimensionality: 1.0 / 2, interference: 1,
                  dimensionsPerFeature: 1, span: 1),
        // cos 120° = −1/2: 2 · 1/4.
        ShapeCase(name: "triangle", weights: regularPolygon(3, phase: 0.1), dimensionality: 2.0 / 3, interference: 0.5,
                  dimensionsPerFeature: 2.0 / 3, span: 2),
        // cos 72° and cos 144°: 2(cos²72° + cos²144°) = 3/2.
        ShapeCase(name: "pentagon", weights: regularPolygon(5), dimensionality: 2.0 / 5, interference: 1.5,
                  dimensionsPerFeature: 2.0 / 5, span: 2),
        // Three others at cos = −1/3: 3 · 1/9.
        ShapeCase(name: "tetrahedron", weights: tetrahedron(), dimensionality: 3.0 / 4, interference: 1.0 / 3,
                  dimensionsPerFeature: 3.0 / 4, span: 3),
        ShapeCase(name: "orthogonal", weights: identity(4), dimensionality: 1, interference: 0, dimensionsPerFeature: 1, span: 4),
        // Not unit norm: D is scale-free, D* = 1/0.64.
        ShapeCase(name: "one feature in one dimension", weights: Matrix(rows: [[0.8]]), dimensionality: 1, interference: 0,
                  dimensionsPerFeature: 1 / 0.64, span: 1),
    ]
}

@Test(arguments: ShapeCase.all)
func regularShapesHaveTheReferenceDimensionality(_ c: ShapeCase) {
    let d = featureDimensionality(of: c.weights)
    #expect(approximatelyEqual(d, [Double](repeating: c.dimensionality, count: c.weights.columnCount)), "\(d)")
    // Over a tight frame they sum to the number of dimensions spanned.
    #expect(Swift.abs(d.reduce(0, +) - Double(c.span)) < 1e-5)
}

@Test(arguments: ShapeCase.all)
func regularShapesHaveTheReferenceDimensionsPerFeature(_ c: ShapeCase) {
    let dStar = dimensionsPerFeature(of: c.weights)
    #expect(Swift.abs(dStar - c.dimensionsPerFeature) < 1e-5, "D* \(dStar)")
}

@Test(arguments: ShapeCase.all)
func regularShapesHaveTheHandComputedInterference(_ c: ShapeCase) {
    let i = interference(of: c.weights)
    #expect(approximatelyEqual(i, [Double](repeating: c.interference, count: c.weights.columnCount)), "\(i)")
}

@Test func zeroNormFeatureHasZeroDimensionalityNormAndInterference() {
    let w = withZeroFeatures(identity(2), 1)
    #expect(approximatelyEqual(featureDimensionality(of: w), [1, 1, 0]))
    #expect(approximatelyEqual(featureNorms(of: w), [1, 1, 0]))
    #expect(approximatelyEqual(interference(of: w), [0, 0, 0]))
    // D* = 2 dimensions / 2 learned features.
    #expect(dimensionsPerFeature(of: w) == 1)
    #expect(representedFeatureCount(of: w) == 2)
}

@Test func allZeroWeightsHaveInfiniteDimensionsPerFeature() {
    let w = Matrix(rowCount: 2, columnCount: 5)
    #expect(dimensionsPerFeature(of: w) == .infinity)
    #expect(featureDimensionality(of: w) == [0, 0, 0, 0, 0])
}

@Test func dimensionsPerFeatureOfAntipodalPairsFillingEveryDimensionIsOneHalf() {
    // docs/analysis.md#dimensions-per-feature: 1/2 for antipodal pairs filling every dimension; here 3 pairs in 3 dimensions plus 2 unlearned.
    let w = withZeroFeatures(tegum([Matrix(rows: [[1, -1]]), Matrix(rows: [[1, -1]]), Matrix(rows: [[1, -1]])]), 2)
    #expect(Swift.abs(dimensionsPerFeature(of: w) - 0.5) < 1e-12)
    #expect(approximatelyEqual(featureDimensionality(of: w), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0]))
}

@Test func interferenceOfUnequalNormsFollowsTheDefinition() {
    // W_0 = (2, 0), W_1 = (1, 1): Ŵ_0·W_1 = 1 → 1; Ŵ_1·W_0 = 2/√2 = √2 → 2.
    let w = Matrix(rows: [[2, 1], [0, 1]])
    #expect(approximatelyEqual(interference(of: w), [1, 2], 1e-12))
    // D_0 = 4 / (4 + 1) = 0.8; D_1 = 2 / (2 + 2) = 0.5.
    #expect(approximatelyEqual(featureDimensionality(of: w), [0.8, 0.5], 1e-12))
    #expect(approximatelyEqual(featureNorms(of: w), [2, 2.0.squareRoot()], 1e-12))
    #expect(gramMatrix(of: w) == [[4, 2], [2, 2]])
}

@Test func superpositionColourIsTheClippedRootOfInterference() {
    // Triangle: √(1/2); pentagon: √(3/2) clipped to 1; orthogonal: 0.
    #expect(approximatelyEqual(superpositionColourValue(of: regularPolygon(3)), [Double](repeating: 0.5.squareRoot(), count: 3)))
    #expect(approximatelyEqual(superpositionColourValue(of: regularPolygon(5)), [1, 1, 1, 1, 1]))
    #expect(superpositionColourValue(of: identity(3)) == [0, 0, 0])
}

@Test func dimensionalityIsScaleInvariantButNormsAreNot() {
    let w = tegum([regularPolygon(3), Matrix(rows: [[1, -1]])])
    let scaled = Matrix(rowCount: w.rowCount, columnCount: w.columnCount, values: w.values.map { $0 * 0.3 })
    #expect(approximatelyEqual(featureDimensionality(of: scaled), featureDimensionality(of: w)))
    #expect(approximatelyEqual(featureNorms(of: scaled), featureNorms(of: w).map { $0 * 0.3 }))
}

@Test func mixedGeometryHasPerFeatureReferenceValues() {
    // Triangle ⊕ digon ⊕ dedicated ⊕ unlearned in 2 + 1 + 1 dimensions.
    let w = withZeroFeatures(tegum([regularPolygon(3), Matrix(rows: [[1, -1]]), Matrix(rows: [[1]])]), 1)
    #expect(approximatelyEqual(featureDimensionality(of: w), [2.0 / 3, 2.0 / 3, 2.0 / 3, 0.5, 0.5, 1, 0]))
    #expect(Swift.abs(dimensionsPerFeature(of: w) - 4.0 / 6) < 1e-6)
    #expect(representedFeatureCount(of: w) == 6)
}

@Test(arguments: [0.0, 0.7, 2.5])
func featureMeasuresAreInvariantUnderRotation(angle: Double) {
    // docs/analysis.md (Invariance): every metric except the neuron plots is invariant under W → OW.
    var rng = RandomStream(seed: 17)
    let w = Matrix(rowCount: 3, columnCount: 7, values: (0..<21).map { _ in Float(rng.nextNormal()) })
    let o = rotation3D(angle, 1.3 * angle + 0.2)
    let rotated = multiply(o, w)
    #expect(approximatelyEqual(featureNorms(of: rotated), featureNorms(of: w)))
    #expect(approximatelyEqual(interference(of: rotated), interference(of: w), 1e-4))
    #expect(approximatelyEqual(featureDimensionality(of: rotated), featureDimensionality(of: w)))
    #expect(Swift.abs(dimensionsPerFeature(of: rotated) - dimensionsPerFeature(of: w)) < 1e-5)
    #expect(approximatelyEqual(gramMatrix(of: rotated).flatMap { $0 }, gramMatrix(of: w).flatMap { $0 }, 1e-4))
    #expect(featureGeometry(of: rotated).groups.map(\.features) == featureGeometry(of: w).groups.map(\.features))
}

@Test func adjacentAnglesOfARegularPentagonAre72Degrees() {
    // Feature order shuffled and rotated: the angles are sorted around the origin.
    let p = regularPolygon(5, phase: 1.1)
    let shuffled = Matrix(rows: p.rows.map { r in [3, 0, 4, 1, 2].map { r[$0] } })
    #expect(approximatelyEqual(adjacentAngles2D(of: shuffled), [72, 72, 72, 72, 72], 1e-4))
}

@Test func adjacentAnglesIgnoreUnrepresentedFeatures() {
    // Two antipodal pairs at right angles plus a short feature: four angles of 90°.
    let w = Matrix(rows: [[1, -1, 0, 0, 0.1], [0, 0, 1, -1, 0.1]])
    #expect(approximatelyEqual(adjacentAngles2D(of: w), [90, 90, 90, 90], 1e-4))
    #expect(adjacentAngles2D(of: Matrix(rows: [[1, 0.1], [0, 0]])) == [360])
    #expect(adjacentAngles2D(of: Matrix(rows: [[0.1], [0]])) == [])
}
