/// SIMD kernels for the shapes of toy models (m from 1 to a few hundred, n up to tens of thousands).
///
/// All take raw pointers to Float32 buffers whose lengths are padded to a multiple of 8 (or 16 where stated),
/// with zero padding, so the loops need no scalar tails. Compiled with AVX2 + FMA on x86_64 (Package.swift).
public enum Kernels {
    @inline(__always) static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// y[0..<count] += a · x[0..<count]; `count` a multiple of 8.
    @inline(__always)
    public static func axpy(_ count: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let av = SIMD8<Float>(repeating: a)
        var i = 0
        while i < count {
            store8(load8(y, i).addingProduct(av, load8(x, i)), y, i)
            i += 8
        }
    }

    /// Σ x[i]·y[i] over `count` (a multiple of 8), with two independent accumulators.
    @inline(__always)
    public static func dot(_ count: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        var a0 = SIMD8<Float>.zero, a1 = SIMD8<Float>.zero
        var i = 0
        while i + 16 <= count {
            a0 = a0.addingProduct(load8(x, i), load8(y, i))
            a1 = a1.addingProduct(load8(x, i + 8), load8(y, i + 8))
            i += 16
        }
        if i < count { a0 = a0.addingProduct(load8(x, i), load8(y, i)) }
        return (a0 + a1).sum()
    }

    /// Decodes up to four rows at once: `out[r][j] = bias[j] + Σ_k h[r][k] · d[k][j]` for j < `width`.
    ///
    /// - `d`: [depth][width] with row stride `width`; `width` a multiple of 16.
    /// - `h`: [rows][hStride]; `out`: [rows][width]; `rows` in 1...4.
    /// A 4×16 register tile (8 accumulators) amortises each load of `d` over four rows.
    public static func decodeRows(rows: Int, depth: Int, width: Int,
                                  h: UnsafePointer<Float>, hStride: Int,
                                  d: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                  out: UnsafeMutablePointer<Float>) {
        precondition(rows >= 1 && rows <= 4 && width % 16 == 0)
        var j = 0
        // Rows beyond `rows` read row 0 and are discarded, so the tile is always 4 wide.
        let r1 = rows > 1 ? 1 : 0, r2 = rows > 2 ? 2 : 0, r3 = rows > 3 ? 3 : 0
        while j < width {
            let b0 = load8(bias, j), b1 = load8(bias, j + 8)
            var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1
            var dk = d + j
            for k in 0..<depth {
                let w0 = load8(dk, 0), w1 = load8(dk, 8)
                let s0 = SIMD8<Float>(repeating: h[k]), s1 = SIMD8<Float>(repeating: h[r1 * hStride + k])
                let s2 = SIMD8<Float>(repeating: h[r2 * hStride + k]), s3 = SIMD8<Float>(repeating: h[r3 * hStride + k])
                c00 = c00.addingProduct(s0, w0); c01 = c01.addingProduct(s0, w1)
                c10 = c10.addingProduct(s1, w0); c11 = c11.addingProduct(s1, w1)
                c20 = c20.addingProduct(s2, w0); c21 = c21.addingProduct(s2, w1)
                c30 = c30.addingProduct(s3, w0); c31 = c31.addingProduct(s3, w1)
                dk += width
            }
            store8(c00, out, j); store8(c01, out, j + 8)
            if rows > 1 { store8(c10, out, width + j); store8(c11, out, width + j + 8) }
            if rows > 2 { store8(c20, out, 2 * width + j); store8(c21, out, 2 * width + j + 8) }
            if rows > 3 { store8(c30, out, 3 * width + j); store8(c31, out, 3 * width + j + 8) }
            j += 16
        }
    }
}

/// Rounds `value` up to a multiple of `multiple`.
@inlinable public func roundUp(_ value: Int, toMultipleOf multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
