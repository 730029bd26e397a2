import Testing
@testable import TMSRender

@Suite struct KitTests {
    let area = PlotArea(left: 10, top: 10, width: 100, height: 100, xDomain: 0...1, yDomain: 0...1)

    @Test func lineLeavingThePlotAreaIsClippedAtTheFrame() {
        var canvas = SVGCanvas(width: 200, height: 200)
        canvas.lineSeries(area, points: [Point(0.5, 0.5), Point(1.5, 0.5)], color: "#000000", title: "l")
        #expect(canvas.render().contains("points=\"60,60 110,60\""))
    }

    @Test func lineEntirelyOutsideThePlotAreaDrawsNothing() {
        var canvas = SVGCanvas(width: 200, height: 200)
        canvas.lineSeries(area, points: [Point(2, 2), Point(3, 3)], color: "#000000")
        #expect(!canvas.render().contains("polyline"))
    }

    @Test func logAxisSkipsNonPositivePointsAndBreaksTheLine() {
        let log = PlotArea(left: 0, top: 0, width: 100, height: 100, xDomain: 0...3, y: .log, yDomain: 0.01...1)
        var canvas = SVGCanvas(width: 100, height: 100)
        canvas.lineSeries(log, points: [Point(0, 1), Point(1, 0.1), Point(2, 0), Point(3, 0.01)], color: "#000000", title: "l")
        let svg = canvas.render()
        #expect(occurrences(of: "<polyline", in: svg) == 1 && occurrences(of: "<circle", in: svg) == 1)
    }

    @Test func smallMultiplesFillRowByRow() {
        let grid = SmallMultiples(count: 5, columns: 2, panelWidth: 100, panelHeight: 50, top: 30, gap: 10)
        #expect(grid.rows == 3 && grid.width == 230 && grid.height == 210)
        #expect(grid.origin(of: 3) == Point(120, 90))
    }

    @Test func heatmapCellsTakeTheirColourAndHoverText() {
        var canvas = SVGCanvas(width: 100, height: 100)
        canvas.heatmap(origin: Point(0, 0), cellWidth: 10, cellHeight: 10, values: [[-1, 1]],
                       fill: { ColorMap.diverging($0).hex }, title: { row, column, _ in "\(row),\(column)" })
        let svg = canvas.render()
        #expect(svg.contains("<rect x=\"10\" y=\"0\" width=\"10\" height=\"10\" fill=\"#2166ac\"><title>0,1</title></rect>"))
    }
}
