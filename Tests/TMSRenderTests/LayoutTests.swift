import Testing
@testable import TMSRender

// Layout.swift: figures as values and stacking them without parsing SVG.

func box(width: Double, height: Double, fill: String) -> Figure {
    var canvas = SVGCanvas(width: width, height: height)
    canvas.rect(x: 1, y: 2, width: width - 2, height: height - 4, fill: fill)
    return Figure(canvas)
}

@Suite struct LayoutTests {
    @Test func figureRendersExactlyAsItsCanvas() {
        var canvas = SVGCanvas(width: 120, height: 40)
        canvas.text("a < b", at: Point(3, 20))
        canvas.circle(center: Point(60, 20), radius: 5, fill: "#000000", title: "dot")
        #expect(Figure(canvas).render() == canvas.render())
        #expect(Figure(canvas).render(standalone: false) == canvas.render(standalone: false))
        #expect(Figure(SVGCanvas(width: 1, height: 1)).render() == SVGCanvas(width: 1, height: 1).render())
    }

    @Test func verticalStackAddsHeightsAndTakesTheWidestWidth() {
        let stack = Figure.stacked([box(width: 100, height: 50, fill: "#ff0000"), box(width: 80, height: 30, fill: "#00ff00")])
        #expect(stack.width == 100 && stack.height == 80)
        #expect(stack.body.hasPrefix("<svg x=\"0\" y=\"0\" width=\"100\" height=\"50\" viewBox=\"0 0 100 50\">\n<rect x=\"1\" y=\"2\""))
        #expect(stack.body.contains("<svg x=\"0\" y=\"50\" width=\"80\" height=\"30\" viewBox=\"0 0 80 30\">\n"))
        let svg = stack.render()
        #expect(xmlProblem(svg) == nil)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"80\" viewBox=\"0 0 100 80\""))
        #expect(occurrences(of: "<svg ", in: svg) == 3)
    }

    @Test func horizontalStackAddsWidthsAndGaps() {
        let stack = Figure.stacked([box(width: 100, height: 50, fill: "#ff0000"), box(width: 80, height: 70, fill: "#00ff00"),
                                    box(width: 10, height: 10, fill: "#0000ff")], axis: .horizontal, gap: 5)
        #expect(stack.width == 200 && stack.height == 70)  // 100 + 5 + 80 + 5 + 10
        #expect(stack.body.contains("<svg x=\"105\" y=\"0\" width=\"80\" height=\"70\""))
        #expect(stack.body.contains("<svg x=\"190\" y=\"0\" width=\"10\" height=\"10\""))
        #expect(xmlProblem(stack.render()) == nil)
    }

    @Test func oneFigureIsReturnedUnchangedAndNoneIsEmpty() {
        let one = box(width: 30, height: 20, fill: "#123456")
        #expect(Figure.stacked([one]) == one)
        let none = Figure.stacked([])
        #expect(none.width == 0 && none.height == 0 && none.body.isEmpty)
        #expect(xmlProblem(none.render()) == nil)
    }
}
