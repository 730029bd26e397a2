/// Spearman's rank correlation ρ of two equally long samples: the Pearson correlation of their ranks,
/// with tied values given their average rank. In [−1, 1]; 1 for any strictly increasing relation, and 0
/// when either sample is constant (its ranks have no variance).
///
/// Without ties this equals 1 − 6 Σ d_k² / (N(N² − 1)), d_k the rank differences.
public func spearmanRankCorrelation(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "spearmanRankCorrelation needs samples of equal length (\(a.count) and \(b.count))")
    guard !a.isEmpty else { return 0 }
    let ra = ranks(a), rb = ranks(b), n = Double(a.count)
    let meanA = ra.reduce(0, +) / n, meanB = rb.reduce(0, +) / n
    var covariance = 0.0, varianceA = 0.0, varianceB = 0.0
    for k in a.indices {
        covariance += (ra[k] - meanA) * (rb[k] - meanB)
        varianceA += (ra[k] - meanA) * (ra[k] - meanA)
        varianceB += (rb[k] - meanB) * (rb[k] - meanB)
    }
    return varianceA > 0 && varianceB > 0 ? covariance / (varianceA * varianceB).squareRoot() : 0
}

/// 0-based ranks, ties sharing the mean of the ranks they span.
func ranks(_ x: [Double]) -> [Double] {
    let order = x.indices.sorted { x[$0] < x[$1] }
    var r = [Double](repeating: 0, count: x.count), i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
        for t in i...j { r[order[t]] = Double(i + j) / 2 }
        i = j + 1
    }
    return r
}
