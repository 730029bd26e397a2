import Foundation
import TMSCore

// Hand-written weight matrices (m×n, column i = feature i's direction) for the reference values of docs/analysis.md#feature-dimensionality.

/// k unit vectors at angles 2πj/k + phase in the plane (a regular k-gon; k = 2 is an antipodal pair).
func regularPolygon(_ k: Int, phase: Double = 0, radius: Double = 1) -> Matrix {
    let angles = (0..<k).map { 2 * Double.pi * Double($0) / Double(k) + phase }
    return Matrix(rows: [angles.map { Float(radius * cos($0)) }, angles.map { Float(radius * sin($0)) }])
}

/// The regular tetrahedron in 3-D: four unit vectors with pairwise dot products −1/3.
func tetrahedron() -> Matrix {
    let s = Float(1 / 3.0.squareRoot())
    let columns: [[Float]] = [[s, s, s], [s, -s, -s], [-s, s, -s], [-s, -s, s]]
    return Matrix(rows: (0..<3).map { r in columns.map { $0[r] } })
}

/// Stacks column blocks side by side in orthogonal subspaces (a tegum product), padding with zero rows.
func tegum(_ blocks: [Matrix]) -> Matrix {
    let m = blocks.reduce(0) { $0 + $1.rowCount }, n = blocks.reduce(0) { $0 + $1.columnCount }
    var out = Matrix(rowCount: m, columnCount: n)
    var row = 0, column = 0
    for b in blocks {
        for r in 0..<b.rowCount { for c in 0..<b.columnCount { out[row + r, column + c] = b[r, c] } }
        row += b.rowCount; column += b.columnCount
    }
    return out
}

/// An m×m identity: m orthogonal features.
func identity(_ m: Int) -> Matrix {
    var out = Matrix(rowCount: m, columnCount: m)
    for i in 0..<m { out[i, i] = 1 }
    return out
}

/// Appends zero columns (unlearned features).
func withZeroFeatures(_ w: Matrix, _ count: Int) -> Matrix {
    Matrix(rows: w.rows.map { $0 + [Float](repeating: 0, count: count) })
}

/// Left-multiplies by a matrix given as rows (Double), returning Float.
func multiply(_ o: [[Double]], _ w: Matrix) -> Matrix {
    Matrix(rows: o.map { orow in
        (0..<w.columnCount).map { c in Float(orow.enumerated().reduce(0.0) { $0 + $1.element * Double(w[$1.offset, c]) }) }
    })
}

/// A 3-D rotation: about z by a, then about x by b.
func rotation3D(_ a: Double, _ b: Double) -> [[Double]] {
    let rz = [[cos(a), -sin(a), 0], [sin(a), cos(a), 0], [0, 0, 1]]
    let rx = [[1, 0, 0], [0, cos(b), -sin(b)], [0, sin(b), cos(b)]]
    return (0..<3).map { i in (0..<3).map { j in (0..<3).reduce(0.0) { $0 + rx[i][$1] * rz[$1][j] } } }
}

func approximatelyEqual(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) <= tolerance }
}
