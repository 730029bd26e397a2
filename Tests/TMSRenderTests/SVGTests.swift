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

struct TypographyTests {
    @Test func subscriptsBecomeTspansInFigureText() {
        #expect(SVG.richText("Σ_{j≠i}(Ŵ_i·W_j)²") == "Σ<tspan baseline-shift=\"sub\" font-size=\"70%\">j≠i</tspan>(Ŵ"
            + "<tspan baseline-shift=\"sub\" font-size=\"70%\">i</tspan>·W<tspan baseline-shift=\"sub\" font-size=\"70%\">j</tspan>)²")
        #expect(SVG.richText("‖W‖_F²") == "‖W‖<tspan baseline-shift=\"sub\" font-size=\"70%\">F</tspan>²")
        #expect(SVG.richText("snake_case & co") == "snake_case &amp; co")
    }

    @Test func hoverTitlesUseUnicodeScriptsWhereTheyExist() {
        #expect(SVG.unicodeScripts("W_i·W_j = 0.5") == "Wᵢ·Wⱼ = 0.5")
        #expect(SVG.unicodeScripts("‖W‖_F") == "‖W‖_F")
        #expect(SVG.unicodeScripts("W_{k,i}") == "Wₖ,ᵢ")
    }

    @Test func reportTextHasSubscriptsAndNoSpecReferences() {
        let html = HTMLReport(title: "t", sections: [ReportSection(heading: "W_i", html: "", caption: "Σ_{j≠i} x (SPEC §8)")],
                              checks: [CheckRow(claim: "b_i ≈ p/2 (SPEC §8)", expected: "‖W₂..₄‖ < 0.5 (not represented, SPEC §5)",
                                                measured: "x", passed: true)]).render()
        #expect(!html.contains("SPEC"))
        #expect(html.contains("<h2>W<sub>i</sub></h2>") && html.contains("Σ<sub>j≠i</sub> x</figcaption>"))
        #expect(html.contains("b<sub>i</sub> ≈ p/2</td>") && html.contains("(not represented)</td>"))
    }
}
