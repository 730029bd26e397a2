import Testing
@testable import TMSRender

@Suite struct SVGTests {
    @Test func escapeReplacesTheFiveXMLSpecialCharacters() {
        #expect(SVG.escape("<script>alert('x') & \"y\"</script>")
            == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
    }

    @Test func escapeTurnsForbiddenControlCharactersIntoSpaces() {
        #expect(SVG.escape("a\u{01}b\nc") == "a b\nc")
    }

    @Test(arguments: [
        (0.0, 2, "0"), (-0.0, 2, "0"), (-0.001, 2, "0"), (1.5, 2, "1.5"), (0.125, 2, "0.13"), (-0.125, 2, "-0.13"),
        (1234.5, 2, "1234.5"), (2.0, 2, "2"), (0.6000000000000001, 9, "0.6"), (12.3456, 0, "12"), (Double.nan, 2, "0"),
    ])
    func numberIsFixedPointWithoutNegativeZero(value: Double, decimals: Int, expected: String) {
        #expect(SVG.number(value, decimals: decimals) == expected)
    }

    @Test(arguments: [(1.0, "1"), (0.75, "3/4"), (2.0 / 3, "2/3"), (0.5, "1/2"), (0.4, "2/5"), (0.375, "3/8"), (Double.pi, "3.142")])
    func fractionWritesSmallRationalsAsFractions(value: Double, expected: String) {
        #expect(SVG.fraction(value) == expected)
    }

    @Test func jitterIsDeterministicAndWithinHalfAUnit() {
        let first = (0..<1000).map { SVG.jitter(seed: 7, index: $0) }
        #expect(first == (0..<1000).map { SVG.jitter(seed: 7, index: $0) })
        #expect(first.allSatisfy { $0 >= -0.5 && $0 < 0.5 })
        #expect(first != (0..<1000).map { SVG.jitter(seed: 8, index: $0) })
        #expect(abs(first.reduce(0, +) / 1000) < 0.05)
    }

    @Test func inlineRemovesOnlyTheNamespaceAttribute() {
        let svg = SVGCanvas(width: 10, height: 10).render()
        #expect(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!SVG.inline(svg).contains("http"))
        #expect(SVG.inline(svg) == SVGCanvas(width: 10, height: 10).render(standalone: false))
    }

    @Test func everyMarkCarriesItsHoverTitle() {
        var canvas = SVGCanvas(width: 100, height: 100)
        canvas.rect(x: 0, y: 0, width: 10, height: -5, fill: "#000000", title: "bar <1>")
        canvas.circle(center: Point(5, 5), radius: 2, fill: "red", title: "dot")
        let svg = canvas.render()
        #expect(svg.contains("<rect x=\"0\" y=\"-5\" width=\"10\" height=\"5\" fill=\"#000000\"><title>bar &lt;1&gt;</title></rect>"))
        #expect(svg.contains("<title>dot</title></circle>"))
        #expect(xmlProblem(svg) == nil)
    }
}
