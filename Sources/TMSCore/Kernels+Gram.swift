import TMSCoreAVX512

// The Gram path's row kernels (docs/models.md#gram-path): `GramKernels`' bodies, inlined here for AVX2 or
// run as `WideKernels`' AVX-512 copies where `usesWideVectors`; the same bits either way.

extension Kernels {
    /// `GramKernels.rows`: y = Σ x_i G_i + b per CSR row, the loss, and with `gradBias` δ [rows][stride] and ∂b.
    public static func gramRows(relu: Bool, rows: Int, rowStart: UnsafePointer<Int32>, columns: UnsafePointer<Int32>,
                                values: UnsafePointer<Float>, gram G: UnsafePointer<Float>, stride N: Int,
                                bias b: UnsafePointer<Float>, importance imp: UnsafePointer<Float>, scale2: Float,
                                target t: UnsafeMutablePointer<Float>, deltas: UnsafeMutablePointer<Float>,
                                gradBias: UnsafeMutablePointer<Float>?) -> (loss: Double, nonZero: Int) {
        gramRows(relu: relu, rows: rows, rowStart: rowStart, columns: columns, values: values, gram: G, stride: N, bias: b,
                 importance: imp, scale2: scale2, target: t, deltas: deltas, gradBias: gradBias, wide: usesWideVectors)
    }

    /// `gramRows` on the AVX-512 copy (`wide`, only where `usesWideVectors`) or on the AVX2 one.
    static func gramRows(relu: Bool, rows: Int, rowStart: UnsafePointer<Int32>, columns: UnsafePointer<Int32>,
                         values: UnsafePointer<Float>, gram G: UnsafePointer<Float>, stride N: Int,
                         bias b: UnsafePointer<Float>, importance imp: UnsafePointer<Float>, scale2: Float,
                         target t: UnsafeMutablePointer<Float>, deltas: UnsafeMutablePointer<Float>,
                         gradBias: UnsafeMutablePointer<Float>?, wide: Bool) -> (loss: Double, nonZero: Int) {
        precondition(N % 16 == 0, "the row stride must be a multiple of 16")
        if wide {
            return WideKernels.gramRows(relu: relu, rows: rows, rowStart: rowStart, columns: columns, values: values, gram: G,
                                        stride: N, bias: b, importance: imp, scale2: scale2, target: t, deltas: deltas,
                                        gradBias: gradBias)
        }
        return GramKernels.rows(relu: relu, rows: rows, rowStart: rowStart, columns: columns, values: values, gram: G,
                                stride: N, bias: b, importance: imp, scale2: scale2, target: t, deltas: deltas,
                                gradBias: gradBias)
    }

    /// `GramKernels.pairs`: A[i] += Σ value·δ[row] over feature i's grouped non-zeros, 64 columns at a time.
    public static func gramPairs(features n: Int, stride N: Int, start: UnsafePointer<Int32>, entryRow: UnsafePointer<Int32>,
                                 entryValue: UnsafePointer<Float>, deltas: UnsafePointer<Float>, into A: UnsafeMutablePointer<Float>) {
        gramPairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue, deltas: deltas, into: A,
                  wide: usesWideVectors)
    }

    /// `gramPairs` on the AVX-512 copy (`wide`, only where `usesWideVectors`) or on the AVX2 one.
    static func gramPairs(features n: Int, stride N: Int, start: UnsafePointer<Int32>, entryRow: UnsafePointer<Int32>,
                          entryValue: UnsafePointer<Float>, deltas: UnsafePointer<Float>, into A: UnsafeMutablePointer<Float>,
                          wide: Bool) {
        precondition(N % 16 == 0, "the row stride must be a multiple of 16")
        if wide {
            WideKernels.gramPairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue,
                                  deltas: deltas, into: A)
        } else {
            GramKernels.pairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue,
                              deltas: deltas, into: A)
        }
    }
}
