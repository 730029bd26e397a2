import Testing
import TMSCore

// Matrix.swift: row-major storage, rows and columns, transpose.

@Test func matrixIsRowMajorWithColumnsAsFeatureDirections() {
    let w = Matrix(rows: [[1, 2, 3], [4, 5, 6]])
    #expect(w.rowCount == 2 && w.columnCount == 3)
    #expect(w.values == [1, 2, 3, 4, 5, 6])
    #expect(w[1, 0] == 4)
    #expect(w.column(2) == [3, 6])
    #expect(w.row(1) == [4, 5, 6])
    #expect(w.rows == [[1, 2, 3], [4, 5, 6]])
}

@Test func transposeSwapsRowsAndColumns() {
    let w = Matrix(rows: [[1, 2, 3], [4, 5, 6]])
    let t = w.transposed
    #expect(t.rowCount == 3 && t.columnCount == 2)
    #expect(t.rows == [[1, 4], [2, 5], [3, 6]])
    #expect(t.transposed == w)
}

@Test func subscriptSetsOneEntry() {
    var w = Matrix(rowCount: 2, columnCount: 2)
    #expect(w.values == [0, 0, 0, 0])
    w[0, 1] = 7
    #expect(w.values == [0, 7, 0, 0])
}

@Test func roundUpReachesTheNextMultiple() {
    #expect(roundUp(0, toMultipleOf: 8) == 0)
    #expect(roundUp(1, toMultipleOf: 8) == 8)
    #expect(roundUp(8, toMultipleOf: 8) == 8)
    #expect(roundUp(17, toMultipleOf: 16) == 32)
}
