import TMSCore

// The forward phases of a chunk on the general kernels: scatter inputs, encode, decode + loss. Buffers are
// batch-lane ([features or hidden][L], L = the workspace's lane stride) unless named row-major.

/// Rows r0 ..< r0 + rows of a batch of B rows, padded to R (a multiple of 16; padded rows count for
/// nothing), and the gradient scale 2s = 2/(B·n) of the mean loss.
struct ChunkSpan {
    let r0: Int, rows: Int, R: Int
    let scale2: Float

    init(chunk: Int, chunkRows: Int, batchSize B: Int, featureCount n: Int) {
        r0 = chunk * chunkRows
        rows = min(chunkRows, B - r0)
        R = roundUp(rows, toMultipleOf: 16)
        scale2 = 2 * Float(1 / Double(B * n))
    }
}

/// Raw views of a CSR batch: entries of row r at `rowStart[r]..<rowStart[r+1]`.
struct CSRView {
    let rowStart: UnsafePointer<Int32>
    let columns: UnsafePointer<Int32>
    let values: UnsafePointer<Float>
    /// The row of each entry from `rowStart[0]` on (`listEntryRows`), when listed.
    var entryRows: UnsafePointer<Int32>? = nil

    /// The view from row `r0` on.
    func rows(from r0: Int) -> CSRView { CSRView(rowStart: rowStart + r0, columns: columns, values: values) }

    /// Calls `body(row, column, value)` for every entry of rows 0..<rows, in order. With `entryRows`, one
    /// loop over the entries: the loop per row mispredicted its exit about once per row at a few non-zeros
    /// per row (docs/performance.md#whole-job-fourth-pass).
    @inline(__always) func forEach(rows: Int, _ body: (Int, Int, Float) -> Void) {
        if let entryRows {
            let first = Int(rowStart[0])
            for e in first..<Int(rowStart[rows]) { body(Int(entryRows[e &- first]), Int(columns[e]), values[e]) }
            return
        }
        for r in 0..<rows {
            for e in Int(rowStart[r])..<Int(rowStart[r + 1]) { body(r, Int(columns[e]), values[e]) }
        }
    }

    /// Writes the row of each entry of rows 0..<rows, from `rowStart[0]` on, to `out` (room for the entries
    /// and one more), without a branch per row: a mark where each row after the first starts, then their
    /// running count.
    func listEntryRows(rows: Int, into out: UnsafeMutablePointer<Int32>) {
        let first = Int(rowStart[0]), count = Int(rowStart[rows]) &- first
        out.update(repeating: 0, count: count &+ 1)
        var r = 1
        while r < rows { out[Int(rowStart[r]) &- first] &+= 1; r &+= 1 }
        var row: Int32 = 0
        for k in 0..<count { row &+= out[k]; out[k] = row }
    }
}

/// One chunk's inputs as the kernels read them.
struct ChunkInputs {
    /// x [n][denseStride] (batch-lane) when the dense input kernels run.
    var dense: UnsafePointer<Float>?
    var denseStride: Int
    /// The chunk's rows 0..<rows as CSR: the sparse input kernels' inputs, or the rows scattered into the
    /// workspace's `inputsT`.
    var csr: CSRView?
    /// Whether `csr` was scattered into `inputsT` (and must be cleared from it).
    var scattered: Bool
    /// The loss targets before |·|: x [n][targetStride] (batch-lane).
    var targets: UnsafePointer<Float>
    var targetStride: Int
}

/// |v| lane-wise by clearing the sign bits (a select on v < 0 was scalarised by LLVM in some kernels).
@inline(__always) func absoluteValue(_ v: SIMD8<Float>) -> SIMD8<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
}

/// The 8-bit mask of the lanes of `lanes` (each −1 or 0) that are −1, lane k giving bit k: an `and` with the
/// lane bits and an `or` tree, 8 vector instructions. (The same bits from a select of the lane bits
/// compiled to eight lane extracts and scalar `and`s and `or`s, ~25 instructions per vector;
/// docs/performance.md#profile-of-the-abs-model-bench-d.)
@inline(__always) private func laneBitMask(_ lanes: SIMD8<Int32>) -> Int {
    let bits = unsafeBitCast(lanes, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)
    let half = bits.lowHalf | bits.highHalf, quarter = half.lowHalf | half.highHalf
    return Int(quarter[0] | quarter[1])
}

/// For each 8-bit mask, the positions of its set bits in increasing order, one per byte (for compacting
/// the rows of non-zero lanes). Written once, then only read.
nonisolated(unsafe) private let laneCompaction: UnsafePointer<UInt64> = {
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
    for mask in 0..<256 {
        var packed: UInt64 = 0, k: UInt64 = 0
        for lane in 0..<8 where mask & (1 << lane) != 0 { packed |= UInt64(lane) << (8 * k); k += 1 }
        table[mask] = packed
    }
    return UnsafePointer(table)
}()

/// Compile-time choices of the loss sweep: output ReLU, and |x| as the target (`abs`).
protocol SweepKind { static var reluOut: Bool { get }; static var signed: Bool { get } }
enum Linear: SweepKind { static var reluOut: Bool { false }; static var signed: Bool { false } }
enum Relu: SweepKind { static var reluOut: Bool { true }; static var signed: Bool { false } }
enum ReluSigned: SweepKind { static var reluOut: Bool { true }; static var signed: Bool { true } }

extension InstanceState {
    /// Scatter inputs: the chunk's x for the kernels. A dense batch is read in place (or, for the sparse
    /// kernels, its chunk compacted to CSR); a CSR chunk is scattered into the zero buffer `inputsT` [n][L],
    /// as the dense kernels' inputs or as the loss targets (`clearScatteredInputs` zeroes it again).
    @inline(__always)
    func scatterInputs(_ span: ChunkSpan, dense: Bool, workspace ws: PassWorkspace, csr batchCSR: CSRView?) -> ChunkInputs {
        if let batch = denseInputs, denseBatchIsCurrent {
            let x = UnsafePointer(batch + span.r0)
            return ChunkInputs(dense: dense ? x : nil, denseStride: denseStride,
                               csr: dense ? nil : compactToCSR(x, span, workspace: ws), scattered: false,
                               targets: x, targetStride: denseStride)
        }
        var csr = batchCSR!.rows(from: span.r0)
        let L = ws.laneStride, xT = ws.inputsT
        csr.listEntryRows(rows: span.rows, into: ws.entryRows)
        csr.entryRows = UnsafePointer(ws.entryRows)
        csr.forEach(rows: span.rows) { r, i, v in xT[i &* L &+ r] = v }
        return ChunkInputs(dense: dense ? UnsafePointer(xT) : nil, denseStride: L, csr: csr, scattered: true,
                           targets: UnsafePointer(xT), targetStride: L)
    }

    /// Zeroes what `scatterInputs` scattered into `inputsT`.
    @inline(__always)
    func clearScatteredInputs(_ inputs: ChunkInputs, _ span: ChunkSpan, workspace ws: PassWorkspace) {
        guard inputs.scattered, let csr = inputs.csr else { return }
        let L = ws.laneStride, xT = ws.inputsT
        csr.forEach(rows: span.rows) { r, i, _ in xT[i &* L &+ r] = 0 }
    }

    /// A dense chunk x [n][denseStride] as CSR rows in the workspace's CSR buffers.
    private func compactToCSR(_ x: UnsafePointer<Float>, _ span: ChunkSpan, workspace ws: PassWorkspace) -> CSRView {
        var count: Int32 = 0
        ws.csrRowStart[0] = 0
        for r in 0..<span.rows {
            for i in 0..<n {
                let v = x[i * denseStride + r]
                if v != 0 { ws.csrColumns[Int(count)] = Int32(i); ws.csrValues[Int(count)] = v; count += 1 }
            }
            ws.csrRowStart[r + 1] = count
        }
        return CSRView(rowStart: ws.csrRowStart, columns: ws.csrColumns, values: ws.csrValues)
    }

    /// Encode: h = act(E x), x [n][R] → `hiddenT` [m][L]; from CSR inputs also row-major `hidden`
    /// [R][mPad] (built first, each row in registers from its non-zeros: `Kernels.sparseRowProduct`).
    /// Returns whether `hidden` was written.
    func encode(_ inputs: ChunkInputs, _ span: ChunkSpan, workspace ws: PassWorkspace) -> Bool {
        let R = span.R, L = ws.laneStride, hT = ws.hiddenT, h = ws.hidden
        if let xT = inputs.dense {
            Kernels.project(outputs: m, depth: n, rows: R, weights: encoder, weightStride: mPad,
                            input: xT, inputStride: inputs.denseStride, bias: nil, output: hT, outputStride: L)
            if model.hasHiddenReLU { Kernels.relu(hT, count: m * L) }
            return false
        }
        let csr = inputs.csr!
        Kernels.sparseRowProduct(rows: span.rows, rowStart: csr.rowStart, columns: csr.columns, values: csr.values,
                                 weights: encoder, weightStride: mPad, vectors: mPad / 8, relu: model.hasHiddenReLU,
                                 output: h, outputStride: mPad)
        (h + span.rows * mPad).update(repeating: 0, count: (R - span.rows) * mPad)
        Kernels.transpose(rows: R, columns: m, h, sourceStride: mPad, into: hT, destinationStride: L)
        return true
    }

    /// Decode: y = Dᵀh + b, `hiddenT` [m][L] → `outputsT` [n][L].
    func decode(_ span: ChunkSpan, workspace ws: PassWorkspace) {
        Kernels.project(outputs: n, depth: m, rows: span.R, weights: decoder, weightStride: nPad,
                        input: ws.hiddenT, inputStride: ws.laneStride, bias: bias, output: ws.outputsT,
                        outputStride: ws.laneStride)
    }

    /// Loss and output gradient, one `sweep` per feature over `outputsT` [n][L]: returns the chunk's
    /// Σ_rows Σ_i I_i (x′_i − t_i)² and, when `gradBias` is given, writes δ to `deltasT` [n][L] and ∂b
    /// [n], counts the non-zero δ and, when `listing`, lists their rows by feature (`deltaStart`,
    /// `deltaRow`) for the sparse output backward.
    func lossAndOutputGradients(_ span: ChunkSpan, _ inputs: ChunkInputs, gradBias: UnsafeMutablePointer<Float>?,
                                listing: Bool, workspace ws: PassWorkspace) -> (loss: Double, deltaCount: Int) {
        let L = ws.laneStride
        var listCount = 0, loss = 0.0, deltaCount = 0
        for j in 0..<n {
            if listing { ws.deltaStart[j] = Int32(truncatingIfNeeded: listCount) }
            let y = UnsafePointer(ws.outputsT + j * L), t = inputs.targets + j * inputs.targetStride
            let d = gradBias == nil ? nil : ws.deltasT + j * L, list = listing ? ws.deltaRow : nil
            let imp = importance[j]
            let s = switch (model.hasOutputReLU, model.usesSignedInputs) {
            case (true, true): Self.sweep(ReluSigned.self, y: y, target: t, delta: d, rows: span.rows, paddedRows: span.R,
                                          importance: imp, scale2: span.scale2, list: list, listCount: &listCount)
            case (true, false): Self.sweep(Relu.self, y: y, target: t, delta: d, rows: span.rows, paddedRows: span.R,
                                           importance: imp, scale2: span.scale2, list: list, listCount: &listCount)
            default: Self.sweep(Linear.self, y: y, target: t, delta: d, rows: span.rows, paddedRows: span.R,
                                importance: imp, scale2: span.scale2, list: list, listCount: &listCount)
            }
            loss += Double(s.loss)
            if let gradBias { gradBias[j] = s.deltaSum; deltaCount += s.nonZero }
        }
        if listing { ws.deltaStart[n] = Int32(truncatingIfNeeded: listCount) }
        return (loss, deltaCount)
    }

    /// Loss and output gradient of one feature j over a chunk (batch-lane): returns Σ_r I_j (x′ − t)² over
    /// the real rows, writes δ = 2 s I_j (x′ − t)·act′(y) (zero on padded rows) when `delta` is given, with
    /// its sum and number of non-zeros, and appends the rows of the non-zero δ to `list` when given.
    /// `Kind` fixes the output ReLU and the target's absolute value at compile time; whether δ is written
    /// and listed is fixed per call of `sweepRows`, so its loop tests neither.
    static func sweep<Kind: SweepKind>(_ kind: Kind.Type, y: UnsafePointer<Float>, target: UnsafePointer<Float>,
                                       delta: UnsafeMutablePointer<Float>?, rows: Int, paddedRows R: Int,
                                       importance: Float, scale2: Float,
                                       list: UnsafeMutablePointer<Int32>?, listCount: inout Int)
        -> (loss: Float, deltaSum: Float, nonZero: Int) {
        // Never dereferenced: stand-ins for the buffers a call does not write.
        let noDelta = UnsafeMutablePointer<Float>(bitPattern: 64)!, noList = UnsafeMutablePointer<Int32>(bitPattern: 64)!
        switch (delta, list) {
        case let (delta?, list?):
            return sweepRows(kind, y, target, delta, list, writesDelta: true, lists: true, rows, R, importance, scale2, &listCount)
        case let (delta?, nil):
            return sweepRows(kind, y, target, delta, noList, writesDelta: true, lists: false, rows, R, importance, scale2, &listCount)
        default:
            return sweepRows(kind, y, target, noDelta, noList, writesDelta: false, lists: false, rows, R, importance, scale2, &listCount)
        }
    }

    /// The loop of `sweep`, ~50 lines in one function: the loss, δ and the compaction share each vector's
    /// registers. Vectors go in pairs, the even one's loss into `lossAcc0`, the odd one's into `lossAcc1`
    /// (two chains halve the FMA latency; R is a multiple of 16).
    @inline(__always)
    private static func sweepRows<Kind: SweepKind>(_ kind: Kind.Type, _ y: UnsafePointer<Float>, _ target: UnsafePointer<Float>,
                                                   _ delta: UnsafeMutablePointer<Float>, _ list: UnsafeMutablePointer<Int32>,
                                                   writesDelta: Bool, lists: Bool, _ rows: Int, _ R: Int,
                                                   _ importance: Float, _ scale2: Float, _ listCount: inout Int)
        -> (loss: Float, deltaSum: Float, nonZero: Int) {
        let imp = SIMD8<Float>(repeating: importance), gradScale = SIMD8<Float>(repeating: scale2 * importance)
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var lossAcc0 = SIMD8<Float>.zero, lossAcc1 = SIMD8<Float>.zero, deltaAcc = SIMD8<Float>.zero
        var nonZero = SIMD8<Int32>.zero
        var count = listCount
        let fullVectors = rows / 8
        let compaction = laneCompaction
        @inline(__always) func step(_ v: Int, _ lossAcc: inout SIMD8<Float>) {
            let yv = Kernels.load8(y, 8 * v)
            let out = Kind.reluOut ? yv.replacing(with: 0, where: yv .< 0) : yv
            var t = Kernels.load8(target, 8 * v)
            if Kind.signed { t = absoluteValue(t) }
            var diff = out - t
            if v >= fullVectors {
                diff = diff.replacing(with: 0, where: lane .>= SIMD8<Int32>(repeating: Int32(rows - 8 * v)))
            }
            lossAcc = lossAcc.addingProduct(imp * diff, diff)
            guard writesDelta else { return }
            var d = gradScale * diff
            if Kind.reluOut { d = d.replacing(with: 0, where: yv .<= 0) }
            Kernels.store8(d, delta, 8 * v)
            deltaAcc += d
            let nonZeroLanes = SIMD8<Int32>.zero.replacing(with: -1, where: d .!= 0)
            nonZero &-= nonZeroLanes
            guard lists else { return }
            // Branchless compaction: the 8-bit mask of non-zero lanes selects, from a table, their positions;
            // all 8 candidate rows are stored at once and the count advances by the number of non-zeros
            // (a vector without any stores rows that the next one overwrites). Every vector is compacted: a
            // skip of all-zero vectors mispredicted at the δ densities of `abs` (~18 %) and cost more than
            // the 8-instruction mask (docs/performance.md#profile-of-the-abs-model-bench-d). (Swift has no
            // movemask: `any` on a SIMDMask and loops over its lanes compiled to per-lane extracts and
            // branches, 3–4× the cost of the whole sweep.)
            let mask = laneBitMask(nonZeroLanes)
            let positions = SIMD8<Int32>(truncatingIfNeeded: unsafeBitCast(compaction[mask], to: SIMD8<UInt8>.self))
            UnsafeMutableRawPointer(list + count).storeBytes(of: positions &+ Int32(truncatingIfNeeded: 8 * v),
                                                             as: SIMD8<Int32>.self)
            count &+= mask.nonzeroBitCount
        }
        var v = 0
        while v < R / 8 {
            step(v, &lossAcc0)
            step(v + 1, &lossAcc1)
            v += 2
        }
        listCount = count
        return ((lossAcc0 + lossAcc1).sum(), deltaAcc.sum(), Int(nonZero.wrappedSum()))
    }
}
