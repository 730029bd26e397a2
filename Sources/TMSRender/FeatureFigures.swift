import Foundation

/// Figure functions: pure functions of plain values returning standalone SVG (or HTML) text.
///
/// Titles, legends and labels come from the parameters; nothing about a particular experiment is
/// written here. The same inputs always give byte-identical output.
public enum Figures {}

/// One panel of ``Figures/featureDiagram2D(panels:title:columns:)``: the m = 2 hidden space of one model.
public struct FeatureDiagramPanel: Sendable, Equatable {
    /// Panel title, e.g. "1 − S = 0.1".
    public var title: String
    /// n vectors of length 2: `directions[i]` is W_i, the i-th column of the 2×n weight matrix.
    public var directions: [[Double]]
    /// Importance I_i per feature (n values); see ``Figures/featureColors(importance:count:highlighted:)``.
    public var importance: [Double]
    /// Optional per-feature labels drawn next to each dot.
    public var labels: [String]?

    public init(title: String, directions: [[Double]], importance: [Double], labels: [String]? = nil) {
        self.title = title
        self.directions = directions
        self.importance = importance
        self.labels = labels
    }
}

/// One frame of ``Figures/trainingAnimation2D(title:frames:importance:labels:id:frameMilliseconds:)``.
public struct AnimationFrame: Sendable, Equatable {
    public var step: Int
    /// n vectors of length 2 (W_i), as in ``FeatureDiagramPanel/directions``.
    public var directions: [[Double]]

    public init(step: Int, directions: [[Double]]) {
        self.step = step
        self.directions = directions
    }
}

extension Figures {
    /// Feature directions in a 2-D hidden space, one panel per model (Elhage et al. 2022, Fig. "intro").
    ///
    /// Each feature i is a line from the origin to W_i = (W_{0,i}, W_{1,i}) ending in a dot, coloured by
    /// ``featureColors(importance:count:highlighted:)``: by importance stretched over its range (with a
    /// colour bar of the actual values) when importance varies, else one labelled colour per feature; the
    /// `highlighted` feature is drawn thicker. The dashed circle is ‖W‖ = 1. Axes are square, centred at 0, with range
    /// ±max(1, maxᵢ‖W_i‖)·1.1 per panel. A missing second coordinate counts as 0, a missing importance as 0.
    /// - Parameters:
    ///   - panels: one per model (e.g. per sparsity), drawn left to right, `columns` per row (default ≤ 5).
    ///   - title: optional figure title above the panels.
    public static func featureDiagram2D(panels: [FeatureDiagramPanel], title: String? = nil, columns: Int? = nil,
                                        highlighted: Int? = nil) -> String {
        let size = 190.0
        let grid = SmallMultiples(count: panels.count, columns: columns ?? min(panels.count, 5),
                                  panelWidth: size, panelHeight: size + 26, top: title == nil ? 8 : 36)
        let legendRows = (min(panels.map(\.directions.count).max() ?? 0, 20) + 2) / max(1, Int((max(grid.width, 280) - 2 * grid.gap) / 70))
        var canvas = SVGCanvas(width: max(grid.width, 280), height: grid.height + 46 + 16 * Double(max(legendRows, 1)))
        if let title { canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true) }
        for (index, panel) in panels.enumerated() {
            let origin = grid.origin(of: index)
            let extent = max(1, panel.directions.map(norm2D).max() ?? 0) * 1.1
            canvas.withOffset(dx: origin.x, dy: origin.y) {
                drawFeaturePanel(&$0, title: panel.title, directions: panel.directions, importance: panel.importance,
                                 labels: panel.labels, extent: extent, size: size, highlighted: highlighted)
            }
        }
        let all = panels.flatMap(\.importance).filter(\.isFinite)
        let count = panels.map(\.directions.count).max() ?? 0
        if let low = all.min(), let high = all.max(), high > low {
            canvas.colorBar(at: Point(grid.gap, grid.height + 14), width: 200, map: .viridis,
                            lowLabel: SVG.number(low, decimals: 3), highLabel: SVG.number(high, decimals: 3), caption: "importance I_i")
        } else {
            drawFeatureLegend(&canvas, at: Point(grid.gap, grid.height + 14), count: count, highlighted: highlighted,
                              width: canvas.width - 2 * grid.gap)
        }
        return canvas.render()
    }

    /// Training as an HTML fragment: one inline SVG per frame (the feature diagram of that step), a range
    /// slider, a play/pause button and a few lines of inline JavaScript. No libraries, no network.
    ///
    /// The axes are fixed over all frames at ±max(1, largest ‖W_i‖ of any frame)·1.1. The fragment is one
    /// `<div id="…">` element (well-formed XML; the script avoids `<` and `&`). `id` defaults to a hash of
    /// the title and frame steps; give distinct ids to two animations with the same title on one page
    /// (characters other than ASCII letters, digits, `-` and `_` are dropped from it).
    public static func trainingAnimation2D(title: String, frames: [AnimationFrame], importance: [Double],
                                           labels: [String]? = nil, id: String? = nil, frameMilliseconds: Int = 200) -> String {
        let elementID = String((id ?? "tms-anim-" + fnv1a(title + frames.map { String($0.step) }.joined(separator: ",")))
            .filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        let extent = max(1, frames.flatMap { $0.directions.map(norm2D) }.max() ?? 0) * 1.1
        let size = 320.0
        var html = "<div class=\"tms-animation\" id=\"\(SVG.escape(elementID))\">\n"
        html += "<p class=\"tms-animation-title\"><strong>\(SVG.escape(title))</strong></p>\n"
        for (index, frame) in frames.enumerated() {
            var canvas = SVGCanvas(width: size + 20, height: size + 36)
            canvas.withOffset(dx: 10, dy: 4) {
                drawFeaturePanel(&$0, title: "step \(frame.step)", directions: frame.directions, importance: importance,
                                 labels: labels, extent: extent, size: size, highlighted: nil)
            }
            let hidden = index == 0 ? "" : " style=\"display:none\""
            html += "<div class=\"tms-frame\"\(hidden)>\n\(canvas.render(standalone: false))</div>\n"
        }
        let last = max(frames.count - 1, 0)
        html += "<div><button type=\"button\">play</button> "
        html += "<input type=\"range\" min=\"0\" max=\"\(last)\" value=\"0\" step=\"1\"/> "
        html += "<span class=\"tms-step\">step \(frames.first?.step ?? 0)</span></div>\n"
        let steps = frames.map { String($0.step) }.joined(separator: ",")
        html += """
        <script>
        (function () {
          var root = document.getElementById("\(elementID)");
          var frames = root.querySelectorAll(".tms-frame");
          var slider = root.querySelector("input");
          var button = root.querySelector("button");
          var label = root.querySelector(".tms-step");
          var steps = [\(steps)];
          var timer = null;
          function show(k) {
            frames.forEach(function (frame, i) { frame.style.display = (i === k) ? "" : "none"; });
            slider.value = k;
            label.textContent = "step " + steps[k];
          }
          slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
          button.addEventListener("click", function () {
            if (timer !== null) { clearInterval(timer); timer = null; button.textContent = "play"; return; }
            button.textContent = "pause";
            timer = setInterval(function () { show((parseInt(slider.value, 10) + 1) % frames.length); }, \(frameMilliseconds));
          });
        })();
        </script>
        </div>

        """
        return html
    }

    /// The Gram matrix WᵀW as a heatmap beside horizontal bars of the feature norms ‖W_i‖
    /// (the paper's "features across sparsity" figure, Elhage et al. 2022, §3; feature 0 on top in both).
    ///
    /// Heatmap colour: ``ColorMap/diverging(_:)`` on [−1, 1] (clamped; −1 red, 0 white, +1 blue); above
    /// ``SVGCanvas/rasterCellLimit`` cells the heatmap is one embedded PNG with a pointer read-out
    /// (``SVGCanvas/matrixHeatmap(origin:width:height:values:map:domain:labels:)``).
    /// Bar colour: viridis(superposition_i) with superposition clipped to [0, 1] (0 dark purple = no
    /// interference, 1 yellow), e.g. √(Σⱼ≠ᵢ(Ŵ_i·W_j)²) as in the notebook; features with ‖W_i‖ < 0.5
    /// (not represented) are grey. Above 160 features the bars are drawn as one path per colour (no per-bar
    /// hover text). A dashed line below the first `hiddenCount` bars marks "m = …" (drawn when 0 < m < n and
    /// all features are shown in order).
    /// - Parameters:
    ///   - gram: n×n, `gram[i][j]` = W_i·W_j.
    ///   - norms: n values ‖W_i‖; the bar axis runs 0…max(1, maxᵢ‖W_i‖), widened to a nice tick.
    ///   - superposition: n values in [0, 1]; missing entries count as 0.
    ///   - featureIDs: the feature number of each row when only some features are drawn (e.g. the
    ///     represented ones by decreasing norm); nil means rows are features 0, 1, 2…
    public static func gramAndNorms(gram: [[Double]], norms: [Double], superposition: [Double], hiddenCount: Int,
                                    title: String, featureIDs: [Int]? = nil) -> String {
        gramAndNormsFigure(gram: gram, norms: norms, superposition: superposition, hiddenCount: hiddenCount, title: title,
                           featureIDs: featureIDs).render()
    }

    /// ``gramAndNorms(gram:norms:superposition:hiddenCount:title:featureIDs:)`` as a value, for ``Figure/stacked(_:axis:gap:)``.
    public static func gramAndNormsFigure(gram: [[Double]], norms: [Double], superposition: [Double], hiddenCount: Int,
                                          title: String, featureIDs: [Int]? = nil) -> Figure {
        let n = max(norms.count, gram.count, 1)
        let cell: Double
        if n <= 160 { cell = min(24, max(2, 320 / Double(n))) }
        else if n <= 560 { cell = max(1, (400 / Double(n)).rounded(.down)) }
        else { cell = 480 / Double(n) }
        let side = cell * Double(n)
        let (left, top) = (40.0, 48.0)
        let barsLeft = left + side + 50
        let area = PlotArea(left: barsLeft, top: top, width: 220, height: side,
                            xDomain: 0...max(1, norms.max() ?? 0), yDomain: 0...1, nice: true)
        var canvas = SVGCanvas(width: barsLeft + 280, height: top + side + 92)
        canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true)
        canvas.text("WᵀW", at: Point(left + side / 2, top - 8), anchor: .middle)
        canvas.matrixHeatmap(origin: Point(left, top), width: side, height: side, values: gram, map: .redWhiteBlue,
                             domain: -1...1, labels: HeatmapLabels(row: "feature", column: "feature", value: "W_i·W_j",
                                                                   rowIDs: featureIDs, columnIDs: featureIDs))
        func id(_ i: Int) -> Int { featureIDs.flatMap { i < $0.count ? $0[i] : nil } ?? i }
        if cell >= 9 {
            for i in 0..<n {
                canvas.text("\(id(i))", at: Point(left - 5, top + cell * (Double(i) + 0.5) + 3.5), size: 9, anchor: .end)
            }
        }
        canvas.text("‖W_i‖", at: Point(barsLeft + area.width / 2, top - 8), anchor: .middle)
        canvas.xAxis(area, label: "‖W_i‖", grid: true)
        func fill(_ i: Int, levels: Double? = nil) -> String {
            guard i >= norms.count || norms[i] >= representedNorm else { return unrepresentedColor }
            var level = min(max(i < superposition.count ? superposition[i] : 0, 0), 1)
            if let levels { level = (level * (levels - 1)).rounded() / (levels - 1) }
            return ColorMap.viridis.hex(at: level)
        }
        if n <= 160 {
            for (i, value) in norms.enumerated() {
                let level = min(max(i < superposition.count ? superposition[i] : 0, 0), 1)
                canvas.horizontalBar(area, from: 0, to: value, top: top + cell * Double(i) + cell * 0.1, height: cell * 0.8,
                                     fill: fill(i),
                                     title: "feature \(id(i)): ‖W_i‖ = \(SVG.number(value, decimals: 4)), superposition = \(SVG.number(level, decimals: 3))")
            }
        } else {
            var paths: [String: String] = [:]
            for (i, value) in norms.enumerated() where value.isFinite && value > 0 {
                let x0 = area.x.map(0), x1 = area.x.map(value)
                paths[fill(i, levels: 16), default: ""] += "M\(SVG.number(x0)) \(SVG.number(top + cell * Double(i)))h\(SVG.number(x1 - x0))v\(SVG.number(max(cell * 0.8, 0.6)))h\(SVG.number(x0 - x1))z"
            }
            for color in paths.keys.sorted() {
                canvas.element("path", [("d", paths[color]!), ("fill", color)])
            }
        }
        if featureIDs == nil && hiddenCount > 0 && hiddenCount < n {
            let y = top + cell * Double(hiddenCount)
            canvas.line(from: Point(barsLeft - 4, y), to: Point(barsLeft + area.width, y), stroke: "#d62728", width: 1.2,
                        dash: "5 3", title: "first m = \(hiddenCount) features above")
            canvas.text("m = \(hiddenCount)", at: Point(barsLeft + area.width + 4, y + 4), size: 10, fill: "#d62728")
        }
        let barY = top + side + 58
        canvas.colorBar(at: Point(left, barY), width: max(side, 120), map: .redWhiteBlue,
                        lowLabel: "−1", highLabel: "1", midLabel: "0", caption: "W_i·W_j")
        canvas.colorBar(at: Point(barsLeft, barY), width: area.width, map: .viridis,
                        lowLabel: "0", highLabel: "1", caption: "superposition (grey: ‖W_i‖ < 0.5)")
        return Figure(canvas)
    }

    /// Most edges a geometry graph draws (the strongest); more would make the figure unreadable and large.
    public static let maxGraphEdges = 1500

    /// Features with ‖W_i‖ below this are "not represented" and drawn grey (Elhage et al. 2022, §3).
    public static let representedNorm = 0.5
    /// The grey of unrepresented features.
    public static let unrepresentedColor = "#c4c4c4"

    /// The feature geometry graph: features as nodes, an edge where two features interfere
    /// (Elhage et al. 2022, §7 "The Geometry of Superposition").
    ///
    /// Layout (deterministic), per group (connected component, `groups[i]` not nil), largest first: up to 8
    /// members sit on a regular polygon in a 90 px cell (a digon is a pair, a triangle a triangle, a
    /// tetrahedron a square with its diagonals); larger groups get a 260 px panel and a force-directed layout
    /// (Fruchterman–Reingold, 120 seeded iterations from a circle). Each group is named by its size and mean
    /// dimensionality D_i = ‖W_i‖²/(‖W_i‖² + Σⱼ≠ᵢ e_ij²) (``shapeName(size:meanDimensionality:)``).
    /// Features with no group (nil, not represented) share the last cell as a grey grid. Node radius
    /// 2 + 4·min(‖W_i‖, 1); node colour ``ColorMap/category(_:)`` of the group's rank. An edge joins i < j
    /// where w = max(|e_ij|, |e_ji|) > `threshold` and both are represented, with opacity min(w, 1), in the
    /// group colour (grey between groups); at most ``maxGraphEdges`` edges, the strongest.
    /// - Parameters:
    ///   - edgeWeights: n×n, `edgeWeights[i][j]` = |Ŵ_i·W_j|.
    ///   - norms: n values ‖W_i‖.
    ///   - groups: n component ids, nil = not represented.
    public static func featureGeometryGraph(title: String, edgeWeights: [[Double]], norms: [Double], groups: [Int?],
                                            threshold: Double) -> String {
        let n = max(norms.count, groups.count, edgeWeights.count)
        func group(_ i: Int) -> Int { i < groups.count ? groups[i] ?? -1 : -1 }
        func weight(_ i: Int, _ j: Int) -> Double {
            i < edgeWeights.count && j < edgeWeights[i].count ? abs(edgeWeights[i][j]) : 0
        }
        func norm(_ i: Int) -> Double { i < norms.count && norms[i].isFinite ? norms[i] : 0 }
        var membersOf: [Int: [Int]] = [:]
        var order: [Int] = []
        for i in 0..<n where group(i) >= 0 {
            if membersOf[group(i)] == nil { order.append(group(i)) }
            membersOf[group(i), default: []].append(i)
        }
        // Largest groups first; ties keep their order of first appearance.
        order = order.enumerated().sorted { a, b in
            let (x, y) = (membersOf[a.element]!.count, membersOf[b.element]!.count)
            return x != y ? x > y : a.offset < b.offset
        }.map(\.element)
        let unrepresented = (0..<n).filter { group($0) < 0 }
        func dimensionality(_ i: Int) -> Double {
            let own = norm(i) * norm(i)
            guard own > 1e-12 else { return 0 }
            let others = (0..<n).reduce(0.0) { $1 == i ? $0 : $0 + weight(i, $1) * weight(i, $1) }
            return own / (own + others)
        }
        // Cells: big groups (> 8 members) in 260 px panels, then small groups and the unrepresented in 90 px cells.
        let (big, small) = (order.filter { membersOf[$0]!.count > 8 }, order.filter { membersOf[$0]!.count <= 8 })
        let width = 780.0, bigSide = 260.0, smallSide = 90.0
        let bigPerRow = Int(width / bigSide), smallPerRow = Int(width / smallSide)
        let bigRows = (big.count + bigPerRow - 1) / bigPerRow
        let smallCount = small.count + (unrepresented.isEmpty ? 0 : 1)
        let smallRows = (smallCount + smallPerRow - 1) / smallPerRow
        let top = 62.0
        var canvas = SVGCanvas(width: width + 20, height: top + Double(bigRows) * bigSide + Double(smallRows) * smallSide + 16)
        canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true)
        canvas.text("edges: |Ŵ_i·W_j| > \(SVG.number(threshold, decimals: 4)), opacity ∝ weight; node size ∝ ‖W_i‖",
                    at: Point(canvas.width / 2, 40), size: 10, anchor: .middle)
        var position = [Point](repeating: Point(0, 0), count: n)
        var labels: [(text: String, at: Point)] = []
        for (k, id) in big.enumerated() {
            let members = membersOf[id]!
            let origin = Point(10 + Double(k % bigPerRow) * bigSide, top + Double(k / bigPerRow) * bigSide)
            let layout = forceLayout(members: members, weight: { max(weight($0, $1), weight($1, $0)) }, threshold: threshold)
            for (slot, i) in members.enumerated() {
                position[i] = Point(origin.x + 20 + (bigSide - 40) * layout[slot].x, origin.y + 10 + (bigSide - 40) * layout[slot].y)
            }
            let meanD = members.map(dimensionality).reduce(0, +) / Double(members.count)
            labels.append((shapeName(size: members.count, meanDimensionality: meanD), Point(origin.x + bigSide / 2, origin.y + bigSide - 12)))
        }
        let smallTop = top + Double(bigRows) * bigSide
        func smallCentre(_ k: Int) -> Point {
            Point(10 + (Double(k % smallPerRow) + 0.5) * smallSide, smallTop + (Double(k / smallPerRow) + 0.5) * smallSide - 6)
        }
        for (k, id) in small.enumerated() {
            let members = membersOf[id]!
            let radius = members.count == 1 ? 0 : smallSide * 0.3
            for (slot, i) in members.enumerated() {
                let angle = -Double.pi / 2 + 2 * Double.pi * Double(slot) / Double(members.count)
                position[i] = Point(smallCentre(k).x + radius * cos(angle), smallCentre(k).y + radius * sin(angle))
            }
            let meanD = members.map(dimensionality).reduce(0, +) / Double(members.count)
            labels.append((shapeName(size: members.count, meanDimensionality: meanD), Point(smallCentre(k).x, smallCentre(k).y + smallSide * 0.46)))
        }
        if !unrepresented.isEmpty {
            let centre = smallCentre(small.count)
            let side = Int(Double(unrepresented.count).squareRoot().rounded(.up))
            let spacing = smallSide * 0.7 / Double(max(side, 1))
            for (slot, i) in unrepresented.enumerated() {
                position[i] = Point(centre.x - smallSide * 0.35 + spacing * (Double(slot % side) + 0.5),
                                    centre.y - smallSide * 0.35 + spacing * (Double(slot / side) + 0.5))
            }
            labels.append(("not represented (\(unrepresented.count))", Point(centre.x, centre.y + smallSide * 0.46)))
        }
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
        func color(_ i: Int) -> String { group(i) < 0 ? "#bbbbbb" : ColorMap.category(rank[group(i)]!).hex }
        var edges: [(i: Int, j: Int, w: Double)] = []
        // Unrepresented features have no edges drawn: Ŵ_i of a near-zero W_i is noise.
        for i in 0..<n where group(i) >= 0 {
            for j in (i + 1)..<max(n, i + 1) where group(j) >= 0 {
                let w = max(weight(i, j), weight(j, i))
                if w > threshold { edges.append((i, j, w)) }
            }
        }
        if edges.count > maxGraphEdges {
            canvas.text("the \(maxGraphEdges) strongest of \(edges.count) edges are drawn", at: Point(canvas.width / 2, 54),
                        size: 10, anchor: .middle, fill: "#777777")
            edges = Array(edges.sorted { $0.w != $1.w ? $0.w > $1.w : ($0.i, $0.j) < ($1.i, $1.j) }.prefix(maxGraphEdges))
                .sorted { ($0.i, $0.j) < ($1.i, $1.j) }
        }
        for (i, j, w) in edges {
            canvas.line(from: position[i], to: position[j], stroke: group(i) == group(j) ? color(i) : "#888888",
                        width: 1.5, opacity: min(w, 1), title: "features \(i)–\(j): \(SVG.number(w, decimals: 3))")
        }
        for i in 0..<n {
            canvas.circle(center: position[i], radius: 2 + 4 * min(max(norm(i), 0), 1), fill: color(i), stroke: "#333333",
                          strokeWidth: 0.5, title: "feature \(i), group \(group(i)), ‖W_i‖ = \(SVG.number(norm(i), decimals: 3))")
            if n <= 40 && group(i) >= 0 {
                canvas.text("\(i)", at: Point(position[i].x + 6, position[i].y - 5), size: 9, fill: "#555555")
            }
        }
        for label in labels { canvas.text(label.text, at: label.at, size: 10, anchor: .middle, fill: "#333333") }
        return canvas.render()
    }

    /// The name of a feature group from its size and mean dimensionality (within 0.06): 1 feature with
    /// D ≈ 1 "dedicated"; 2 with 1/2 "digon"; 3 with 2/3 "triangle"; 4 with 3/4 "tetrahedron"; 4 with
    /// 1/2 "square"; 5 with 2/5 "pentagon"; 8 with 3/8 "square antiprism"; otherwise "k features, D ≈ x".
    public static func shapeName(size: Int, meanDimensionality d: Double) -> String {
        let known: [(Int, Double, String)] = [(1, 1, "dedicated"), (2, 0.5, "digon"), (3, 2.0 / 3, "triangle"),
                                              (4, 0.75, "tetrahedron"), (4, 0.5, "square"), (5, 0.4, "pentagon"),
                                              (8, 0.375, "square antiprism")]
        if let match = known.first(where: { $0.0 == size && abs($0.1 - d) < 0.06 }) { return match.2 }
        return "\(size) features, D ≈ \(SVG.number(d, decimals: 2))"
    }

    /// A force-directed layout (Fruchterman–Reingold) of `members` in the unit square, deterministic: starts
    /// on a circle, 120 iterations, attraction along edges above `threshold` scaled by their weight.
    static func forceLayout(members: [Int], weight: (Int, Int) -> Double, threshold: Double) -> [Point] {
        let count = members.count
        var x = (0..<count).map { 0.5 + 0.45 * cos(2 * Double.pi * Double($0) / Double(count)) }
        var y = (0..<count).map { 0.5 + 0.45 * sin(2 * Double.pi * Double($0) / Double(count)) }
        var adjacency: [[(Int, Double)]] = Array(repeating: [], count: count)
        for a in 0..<count {
            for b in (a + 1)..<max(count, a + 1) {
                let w = weight(members[a], members[b])
                if w > threshold { adjacency[a].append((b, w)); adjacency[b].append((a, w)) }
            }
        }
        let k = (1.0 / Double(count)).squareRoot()
        var temperature = 0.1
        for _ in 0..<120 {
            var dx = [Double](repeating: 0, count: count), dy = [Double](repeating: 0, count: count)
            for a in 0..<count {
                for b in (a + 1)..<max(count, a + 1) {
                    let (ex, ey) = (x[a] - x[b], y[a] - y[b])
                    let d2 = max(ex * ex + ey * ey, 1e-6)
                    let push = k * k / d2
                    dx[a] += ex * push; dy[a] += ey * push
                    dx[b] -= ex * push; dy[b] -= ey * push
                }
                for (b, w) in adjacency[a] where b > a {
                    let (ex, ey) = (x[a] - x[b], y[a] - y[b])
                    let d = max((ex * ex + ey * ey).squareRoot(), 1e-3)
                    let pull = w * d / k
                    dx[a] -= ex * pull; dy[a] -= ey * pull
                    dx[b] += ex * pull; dy[b] += ey * pull
                }
            }
            for a in 0..<count {
                let length = max((dx[a] * dx[a] + dy[a] * dy[a]).squareRoot(), 1e-9)
                let step = min(length, temperature)
                x[a] += dx[a] / length * step
                y[a] += dy[a] / length * step
            }
            temperature *= 0.96
        }
        let (lowX, highX, lowY, highY) = (x.min() ?? 0, x.max() ?? 1, y.min() ?? 0, y.max() ?? 1)
        let span = max(highX - lowX, highY - lowY, 1e-9)
        return (0..<count).map { Point((x[$0] - lowX) / span, (y[$0] - lowY) / span) }
    }

    /// Draws one feature-diagram panel of width `size` and height `size + 26` at the canvas origin.
    static func drawFeaturePanel(_ canvas: inout SVGCanvas, title: String, directions: [[Double]], importance: [Double],
                                 labels: [String]?, extent: Double, size: Double, highlighted: Int?) {
        canvas.text(title, at: Point(size / 2, 15), size: 12, anchor: .middle, bold: true)
        let area = PlotArea(left: 0, top: 24, width: size, height: size, xDomain: -extent...extent, yDomain: -extent...extent)
        canvas.rect(x: 0, y: 24, width: size, height: size, fill: "none", stroke: "#cccccc")
        canvas.line(from: area.point(-extent, 0), to: area.point(extent, 0), stroke: "#dddddd")
        canvas.line(from: area.point(0, -extent), to: area.point(0, extent), stroke: "#dddddd")
        canvas.circle(center: area.point(0, 0), radius: size / (2 * extent), fill: "none", stroke: "#bbbbbb",
                      dash: "3 3", title: "‖W‖ = 1")
        let colors = featureColors(importance: importance, count: directions.count, highlighted: highlighted)
        // The highlighted feature is drawn last so that it lies on top.
        let order = directions.indices.filter { $0 != highlighted } + directions.indices.filter { $0 == highlighted }
        for i in order {
            let direction = directions[i]
            let end = Point(direction.first ?? 0, direction.count > 1 ? direction[1] : 0)
            let value = i < importance.count ? importance[i] : 0
            let color = colors[i]
            let label = labels.flatMap { i < $0.count ? " (\($0[i]))" : nil } ?? ""
            canvas.ray(area, to: end, color: color, width: i == highlighted ? 3.5 : 2, dotRadius: i == highlighted ? 5.5 : 4, title: "feature \(i)\(label): W_i = (\(SVG.number(end.x, decimals: 3)), "
                + "\(SVG.number(end.y, decimals: 3))), ‖W_i‖ = \(SVG.number(norm2D(direction), decimals: 3)), importance = \(SVG.number(value, decimals: 4))")
            if let labels, i < labels.count {
                let length = max(norm2D(direction), 1e-9)
                let tip = area.point(end.x, end.y)
                canvas.text(labels[i], at: Point(tip.x + 10 * end.x / length, tip.y - 10 * end.y / length + 3.5),
                            size: 10, anchor: .middle)
            }
        }
    }

    /// Feature colours of the feature diagrams. When importance varies: viridis((I_i − min I)/(max I − min I)),
    /// so the whole colour range is used (0.9^i over five features spans dark purple to yellow). When it does
    /// not (or is missing): ``ColorMap/category(_:)`` of the feature, so features can be told apart; with
    /// `highlighted`, that feature is red (``highlightColor``) and the others share a muted blue-grey, so it
    /// stands out.
    public static func featureColors(importance: [Double], count: Int, highlighted: Int? = nil) -> [String] {
        let values = importance.prefix(count).filter(\.isFinite)
        if let low = values.min(), let high = values.max(), high > low, values.count == count {
            return (0..<count).map { ColorMap.viridis.hex(at: (importance[$0] - low) / (high - low)) }
        }
        if let highlighted {
            return (0..<count).map { $0 == highlighted ? highlightColor : "#7f8fa6" }
        }
        return (0..<count).map { ColorMap.category($0).hex }
    }

    /// The colour of a highlighted feature (e.g. the one whose density varies).
    public static let highlightColor = "#d62728"

    /// A one-line legend of feature colours (up to 20 features) for uniform importance.
    static func drawFeatureLegend(_ canvas: inout SVGCanvas, at origin: Point, count: Int, highlighted: Int?, width: Double) {
        let colors = featureColors(importance: [], count: count, highlighted: highlighted)
        if let highlighted, highlighted < count {
            canvas.legend(at: origin, entries: [LegendEntry(label: "feature \(highlighted)", color: highlightColor, mark: .dot),
                                                LegendEntry(label: "other features", color: colors[highlighted == 0 ? min(1, count - 1) : 0], mark: .dot)])
            return
        }
        let perRow = max(1, Int(width / 70))
        for i in 0..<min(count, 20) {
            let x = origin.x + 70 * Double(i % perRow), y = origin.y + 16 * Double(i / perRow)
            canvas.circle(center: Point(x + 5, y + 5), radius: 4, fill: colors[i], title: "feature \(i)")
            canvas.text("feature \(i)", at: Point(x + 12, y + 9), size: 10)
        }
        if count > 20 { canvas.text("…", at: Point(origin.x, origin.y + 16 * Double((19 / perRow) + 1) + 9), size: 10) }
    }

    /// ‖(v₀, v₁)‖ for a vector of up to two coordinates (extra coordinates ignored).
    static func norm2D(_ v: [Double]) -> Double {
        let (x, y) = (v.first ?? 0, v.count > 1 ? v[1] : 0)
        return (x * x + y * y).squareRoot()
    }

    /// 64-bit FNV-1a of the UTF-8 bytes, as 16 hex digits (deterministic element ids).
    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
