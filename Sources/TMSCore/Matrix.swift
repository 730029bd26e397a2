/// A dense row-major Float32 matrix: `values[row * columnCount + column]`.
///
/// Analysis takes these, so it works the same on a trained model, a loaded file or a hand-written 2×5
/// matrix. A toy model's weights for one instance are a `hiddenCount × featureCount` matrix whose column i
/// is feature i's direction W_i (PyTorch/ARENA layout `W[hidden, feature]`).
public struct Matrix: Sendable, Equatable, Codable {
    public let rowCount: Int
    public let columnCount: Int
    public var values: [Float]

    public init(rowCount: Int, columnCount: Int, values: [Float]) {
        precondition(rowCount >= 0 && columnCount >= 0, "matrix sizes must be non-negative")
        precondition(values.count == rowCount * columnCount,
                     "matrix \(rowCount)×\(columnCount) needs \(rowCount * columnCount) values, got \(values.count)")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }

    /// A zero matrix.
    public init(rowCount: Int, columnCount: Int) {
        self.init(rowCount: rowCount, columnCount: columnCount, values: [Float](repeating: 0, count: rowCount * columnCount))
    }

    /// Builds a matrix from rows (all of equal length).
    public init(rows: [[Float]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "all rows must have the same length")
        self.init(rowCount: rows.count, columnCount: columns, values: rows.flatMap { $0 })
    }

    /// Inlinable: analysis loops read single entries, and a cross-module call per entry was most of their cost.
    @inlinable
    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columnCount + column] }
        set { values[row * columnCount + column] = newValue }
    }

    /// Column `j` as an array (for a weight matrix: feature j's direction W_j).
    public func column(_ j: Int) -> [Float] {
        (0..<rowCount).map { values[$0 * columnCount + j] }
    }

    /// Row `i` as an array (for a weight matrix: neuron i's loadings on every feature).
    public func row(_ i: Int) -> [Float] {
        Array(values[(i * columnCount)..<((i + 1) * columnCount)])
    }

    public var transposed: Matrix {
        var out = Matrix(rowCount: columnCount, columnCount: rowCount)
        for r in 0..<rowCount {
            for c in 0..<columnCount { out.values[c * rowCount + r] = values[r * columnCount + c] }
        }
        return out
    }

    /// Rows as nested arrays, handy for JSON and rendering.
    public var rows: [[Float]] { (0..<rowCount).map(row) }
}
