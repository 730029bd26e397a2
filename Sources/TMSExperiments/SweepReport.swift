import Foundation
import TMSRender

/// The figures and report page of a sweep (docs/sweeps.md#results): each measured value against the first
/// axis, one line per combination of the other axes, averaged over seeds.
enum SweepReport {
    /// The most lines one figure draws; further combinations are left to results.csv (and said so).
    static let maxSeries = 12

    static func figures(_ results: SweepResults) -> [ReportFigure] {
        let spec = results.spec
        let xField = spec.axes.first?.field
        let xName = xField?.rawValue ?? "seed"
        let xColumn = results.column(xName)
        // Choices are drawn at 0, 1, 2, … in the order the axis lists them.
        let choices: [String] = {
            var seen: [String] = []
            for v in xColumn { if case .choice(let s) = v, !seen.contains(s) { seen.append(s) } }
            return seen
        }()
        func xValue(_ v: SweepValue) -> Double {
            if case .choice(let s) = v { return Double(choices.firstIndex(of: s)!) }
            return v.number!
        }
        let xs = xColumn.reduce(into: [Double]()) { list, v in if !list.contains(xValue(v)) { list.append(xValue(v)) } }.sorted()
        let others = spec.axes.dropFirst().map(\.field.rawValue)
        let otherColumns = others.map { results.column($0) }
        var groups: [String] = []
        var rowsAt: [String: [Double: [Int]]] = [:]
        for row in results.rows.indices {
            let label = others.isEmpty ? "mean over seeds" : zip(others, otherColumns).map { "\($0)=\($1[row])" }.joined(separator: ", ")
            if rowsAt[label] == nil { groups.append(label) }
            rowsAt[label, default: [:]][xValue(xColumn[row]), default: []].append(row)
        }
        let shown = Array(groups.prefix(maxSeries))
        let xLabel = choices.isEmpty ? xName : "\(xName) (\(choices.enumerated().map { "\($0.offset) = \($0.element)" }.joined(separator: ", ")))"
        let logX = xField.map(spec.isLogAxis) ?? false
        let note = groups.count > shown.count ? " Only the first \(shown.count) of \(groups.count) combinations are drawn; results.csv has all." : ""
        let metrics: [(column: String, label: String, logY: Bool, caption: String, file: String)] = [
            ("finalLoss", "final loss", true, "Evaluation loss of the kept model of each cell, mean over seeds.", "final-loss.svg"),
            ("featuresPerDimension", "represented features / m", false,
             "Features with ‖W_i‖ > 0.5 per hidden dimension, mean over seeds (above 1: superposition).", "features-per-dimension.svg"),
            ("dimensionsPerFeature", "D* = m/‖W‖²_F", false, "Dimensions per feature D*, mean over seeds.", "dimensions-per-feature.svg"),
        ]
        return metrics.map { metric in
            let values = results.column(metric.column).map { $0.number! }
            let series = shown.map { group -> Series in
                let ys = xs.map { x -> Double in
                    let picked = (rowsAt[group]?[x] ?? []).map { values[$0] }.filter(\.isFinite)  // diverged cells: NaN
                    return picked.isEmpty ? .nan : picked.reduce(0, +) / Double(picked.count)
                }
                return Series(label: group, steps: xs, values: ys)
            }
            let svg = Figures.lossCurves(title: "\(spec.name): \(metric.label) against \(xName)", series: series,
                                         logY: metric.logY, logX: logX, xLabel: xLabel, yLabel: metric.label)
            return ReportFigure(heading: metric.label.prefix(1).uppercased() + metric.label.dropFirst(), html: svg,
                                caption: metric.caption + note, file: metric.file)
        }
    }

    static func files(_ results: SweepResults) -> [String: Foundation.Data] {
        let spec = results.spec
        let figures = figures(results)
        var files: [String: Foundation.Data] = [:]
        for figure in figures { if let file = figure.file { files["figures/\(file)"] = Foundation.Data(figure.html.utf8) } }
        let axes = spec.axes.map { axis -> String in
            let points = axis.points.map { v in v.number.map { fmt($0, 4) } ?? v.description }
            let how = axis.log != nil ? "log range" : axis.linear != nil ? "linear range" : "values"
            return "\(axis.field.rawValue): \(how) \(points.count <= 8 ? points.joined(separator: ", ") : "\(points[0]) … \(points[points.count - 1]) (\(points.count))")"
        }
        let fixed = spec.base.keys.sorted { $0.rawValue < $1.rawValue }.map { "\($0.rawValue) = \(spec.base[$0]!)" }
        let summary: [(String, String)] = [
            ("cells", "\(results.rows.count) in \(spec.packs().count) runs (\(spec.pack ? "packed as instances, at most \(spec.maxInstances) per run" : "one run per cell"))"),
            ("axes", axes.isEmpty ? "none" : axes.joined(separator: "; ")),
            ("fixed", fixed.isEmpty ? "defaults" : fixed.joined(separator: ", ")),
            ("seeds", spec.seeds.map(String.init).joined(separator: ", ")),
            ("diverged", { () -> String in
                let count = results.column("status").filter { $0 == .choice("diverged") }.count
                return count == 0 ? "none" : "\(count) cells (status = diverged in results.csv; left out of the figures)"
            }()),
            ("tool", "tms \(tmsVersion)"),
        ]
        let links = [("results.csv", "results.csv"), ("results.json", "results.json"), ("sweep.json", "sweep.json")]
            + figures.compactMap { $0.file.map { ("figures/\($0)", "figures/\($0)") } }
        files["report.html"] = Foundation.Data(ReportPage.html(title: "tms sweep: \(spec.name)", subtitle: "Toy models of superposition",
                                                               summary: summary, figures: figures, checks: nil, links: links).utf8)
        return files
    }
}
