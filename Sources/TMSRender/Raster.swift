/// What the pointer read-out of a matrix heatmap says about a cell: "feature 3, feature 7: W_i·W_j ≈ 0.412".
public struct HeatmapLabels: Sendable, Equatable {
    /// Name of a row, e.g. "feature" or "neuron".
    public var row: String
    /// Name of a column.
    public var column: String
    /// Name of the value, e.g. "W_i·W_j".
    public var value: String
    /// The id shown for each row (e.g. the feature number when only some features are drawn); nil = 0, 1, 2…
    public var rowIDs: [Int]?
    /// The id shown for each column; nil = 0, 1, 2…
    public var columnIDs: [Int]?

    public init(row: String, column: String, value: String, rowIDs: [Int]? = nil, columnIDs: [Int]? = nil) {
        self.row = row
        self.column = column
        self.value = value
        self.rowIDs = rowIDs
        self.columnIDs = columnIDs
    }
}

extension SVGCanvas {
    /// Heatmaps with more cells than this are drawn as one embedded PNG instead of one `<rect>` per cell.
    public static let rasterCellLimit = 2500

    /// Number of colour levels of a raster heatmap's palette; palette index 255 is "not a number" (grey).
    public static let rasterLevels = 255

    /// A matrix heatmap `values[row][column]` (row 0 on top) filling `width`×`height` pixels at `origin`,
    /// each cell coloured `map((v − lower)/(upper − lower))`, clamped to the domain; framed in grey.
    ///
    /// Up to ``rasterCellLimit`` cells: one `<rect>` per cell with a `<title>` (hover text). Above it: one
    /// `<image class="tms-raster">` holding an indexed-colour PNG of one pixel per cell
    /// (``rasterLevels`` colours sampled from `map`, NaN grey), drawn pixel-exact (`image-rendering:
    /// pixelated`), followed by a `<text>` read-out line and a small inline script that, on pointer move,
    /// writes the row, column and value (decoded from the pixel's palette index, so to within half a
    /// colour level) into that line. The figure stays well-formed XML and needs nothing from the network.
    public mutating func matrixHeatmap(origin: Point, width: Double, height: Double, values: [[Double]], map: ColorMap,
                                       domain: ClosedRange<Double>, labels: HeatmapLabels) {
        let rows = values.count, columns = values.map(\.count).max() ?? 0
        guard rows > 0, columns > 0 else { return }
        let (cellWidth, cellHeight) = (width / Double(columns), height / Double(rows))
        let span = domain.upperBound - domain.lowerBound
        func level(_ value: Double) -> Double {
            span > 0 ? min(max((value - domain.lowerBound) / span, 0), 1) : 0.5
        }
        func id(_ ids: [Int]?, _ k: Int) -> Int { ids.flatMap { k < $0.count ? $0[k] : nil } ?? k }
        if rows * columns <= Self.rasterCellLimit {
            for (row, rowValues) in values.enumerated() {
                for (column, value) in rowValues.enumerated() {
                    rect(x: origin.x + Double(column) * cellWidth, y: origin.y + Double(row) * cellHeight,
                         width: cellWidth, height: cellHeight, fill: value.isNaN ? "#bbbbbb" : map.hex(at: level(value)),
                         title: "\(labels.row) \(id(labels.rowIDs, row)), \(labels.column) \(id(labels.columnIDs, column)): "
                             + "\(labels.value) = \(SVG.number(value, decimals: 4))")
                }
            }
        } else {
            let top = Double(Self.rasterLevels - 1)
            let palette = (0..<Self.rasterLevels).map { map.color(at: Double($0) / top) } + [RGB(red: 0xbb, green: 0xbb, blue: 0xbb)]
            var pixels = [UInt8](repeating: UInt8(Self.rasterLevels), count: rows * columns)
            for (row, rowValues) in values.enumerated() {
                for (column, value) in rowValues.enumerated() where !value.isNaN {
                    pixels[row * columns + column] = UInt8((level(value) * top).rounded())
                }
            }
            let uri = PNG.dataURI(width: columns, height: rows, pixels: pixels, palette: palette)
            let ids = { (list: [Int]?) in list.map { $0.map(String.init).joined(separator: ",") } ?? "" }
            let hint = "\(rows) × \(columns) cells, one pixel each: point at a cell for its value"
            element("image", [("class", "tms-raster"), ("x", SVG.number(origin.x)), ("y", SVG.number(origin.y)),
                              ("width", SVG.number(width)), ("height", SVG.number(height)), ("preserveAspectRatio", "none"),
                              ("style", "image-rendering:pixelated;image-rendering:crisp-edges"),
                              ("data-rows", String(rows)), ("data-columns", String(columns)),
                              ("data-low", SVG.number(domain.lowerBound, decimals: 9)),
                              ("data-high", SVG.number(domain.upperBound, decimals: 9)),
                              ("data-levels", String(Self.rasterLevels)),
                              ("data-palette", palette.map { String($0.hex.dropFirst()) }.joined()),
                              ("data-row-label", labels.row), ("data-column-label", labels.column),
                              ("data-value-label", SVG.unicodeScripts(labels.value)),
                              ("data-row-ids", ids(labels.rowIDs)), ("data-column-ids", ids(labels.columnIDs)),
                              ("href", uri)],
                    title: "\(labels.value): \(hint)")
            text(hint, at: Point(origin.x, origin.y + height + 12), size: 9, fill: "#555555")
            add(rawMarkup: "<script>\(Self.readoutScript)</script>")
        }
        rect(x: origin.x, y: origin.y, width: width, height: height, fill: "none", stroke: "#444444", strokeWidth: 0.75)
    }

    /// The read-out script of raster heatmaps: binds every `image.tms-raster` not yet bound (so several
    /// copies on one page are harmless) and marks each `data-decoded="1"` once the browser has decoded its
    /// PNG at the expected size (`.ci/render-check` looks for that). Written without `<` and `&` so the SVG stays well-formed XML.
    static let readoutScript = """

    (function () {
      function attr(e, n) { return e.getAttribute(n) || ""; }
      document.querySelectorAll("image.tms-raster").forEach(function (image) {
        if (attr(image, "data-bound") === "1") { return; }
        image.setAttribute("data-bound", "1");
        var out = image.nextElementSibling, hint = out ? out.textContent : "";
        var rows = +attr(image, "data-rows"), columns = +attr(image, "data-columns");
        var low = +attr(image, "data-low"), high = +attr(image, "data-high"), levels = +attr(image, "data-levels");
        var palette = attr(image, "data-palette").match(/.{6}/g) || [];
        var rowIDs = attr(image, "data-row-ids").split(","), columnIDs = attr(image, "data-column-ids").split(",");
        var context = null;
        var picture = new Image();
        picture.onload = function () {
          var canvas = document.createElement("canvas");
          canvas.width = columns; canvas.height = rows;
          context = canvas.getContext("2d");
          context.drawImage(picture, 0, 0);
          image.setAttribute("data-decoded", picture.naturalWidth === columns ? "1" : "wrong-size");
        };
        picture.onerror = function () { image.setAttribute("data-decoded", "error"); };
        picture.src = attr(image, "href");
        function id(list, k) { return list.length === 1 ? String(k) : list[k]; }
        image.addEventListener("mousemove", function (event) {
          if (!out) { return; }
          var box = image.getBoundingClientRect();
          var c = Math.max(0, Math.min(columns - 1, Math.floor((event.clientX - box.left) / box.width * columns)));
          var r = Math.max(0, Math.min(rows - 1, Math.floor((event.clientY - box.top) / box.height * rows)));
          var text = attr(image, "data-row-label") + " " + id(rowIDs, r) + ", " + attr(image, "data-column-label") + " " + id(columnIDs, c);
          if (context !== null) {
            try {
              var d = context.getImageData(c, r, 1, 1).data;
              var k = palette.indexOf(((d[0] * 256 + d[1]) * 256 + d[2] + 16777216).toString(16).slice(1));
              if (k >= 0) {
                if (k !== levels) { text += ": " + attr(image, "data-value-label") + " \\u2248 " + (low + (high - low) * k / (levels - 1)).toFixed(3); }
              }
            } catch (error) { context = null; }
          }
          out.textContent = text;
        });
        image.addEventListener("mouseleave", function () { if (out) { out.textContent = hint; } });
      });
    })();

    """
}
