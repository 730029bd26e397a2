import Testing
@testable import TMSRender

func sampleReport(title: String = "intro: 5 features in 2 dimensions") -> HTMLReport {
    HTMLReport(
        title: title, subtitle: "ReLU output model",
        configSummary: [ConfigEntry(key: "featureCount", value: "5"), ConfigEntry(key: "hiddenCount", value: "2")],
        sections: [ReportSection(heading: "Features", svg: tinyFigures[0].render(), caption: "W_i per sparsity"),
                   ReportSection(heading: "Training", html: Figures.trainingAnimation2D(
                       title: "training", frames: [AnimationFrame(step: 0, directions: pentagon)], importance: [1, 1, 1, 1, 1]))],
        checks: [CheckRow(claim: "pentagon at 1 − S = 0.1", expected: "72°", measured: "71.9°", passed: true),
                 CheckRow(claim: "digons at 1 − S = 0.2", expected: "4 features", measured: "3 features", passed: false)],
        links: [ReportLink(label: "weights", href: "weights.safetensors"), ReportLink(label: "config", href: "config.json")])
}

@Suite(.serialized) struct HTMLReportTests {
    @Test func reportIsWellFormedXHTML() {
        #expect(xmlProblem(sampleReport().render()) == nil)
    }

    @Test func reportReferencesNothingOnTheNetwork() {
        let html = sampleReport().render()
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.contains("<link") && !html.contains("src=") && !html.contains("@import"))
    }

    @Test func failingCheckShowsFAILInRed() {
        let html = sampleReport().render()
        #expect(html.contains("<td class=\"fail\" style=\"color:\(HTMLReport.failColor);font-weight:bold\">FAIL</td>"))
        #expect(html.contains("<td class=\"pass\" style=\"color:\(HTMLReport.passColor);font-weight:bold\">pass</td>"))
        #expect(html.contains("1 of 2 checks pass."))
    }

    @Test func reportTitleIsEscapedAndFollowsTheParameter() {
        let html = sampleReport(title: "<script>x</script>").render()
        #expect(html.contains("<title>&lt;script&gt;x&lt;/script&gt;</title>"))
        #expect(occurrences(of: "<script>", in: html) == 1)  // only the animation's own script
        #expect(sampleReport(title: "a").render() != sampleReport(title: "b").render())
    }

    /// Compares with Tests/TMSRenderTests/Golden/sample-report.html; see Golden.swift to rewrite after an
    /// intended change.
    @Test func reportMatchesItsGoldenFile() throws {
        try expectMatchesGolden(sampleReport().render(), named: "sample-report.html")
    }

    @Test func reportLinksAreRelative() {
        let html = sampleReport().render()
        #expect(html.contains("<a href=\"weights.safetensors\">weights</a>"))
    }

    @Test func indexPageLinksReportsAndHighlightsFailures() {
        let html = HTMLReport.indexPage(title: "tms reports", entries: [
            IndexEntry(name: "intro", href: "intro/report.html", summary: "5 → 2", passed: 3, failed: 0),
            IndexEntry(name: "geometry", href: "geometry/report.html", summary: "D* & D_i", passed: 2, failed: 1),
        ])
        #expect(xmlProblem(html) == nil)
        #expect(html.contains("<a href=\"intro/report.html\">intro</a>"))
        #expect(html.contains("D* &amp; D_i"))
        #expect(occurrences(of: "class=\"fail\"", in: html) == 1)
        #expect(!html.contains("http"))
    }

    @Test func indexPageSaysWhichRunsWereQuickAndShowsThumbnails() {
        let html = HTMLReport.indexPage(title: "tms run all", entries: [
            IndexEntry(name: "intro", href: "intro/report.html", summary: "5 → 2", passed: 3, failed: 0, quick: true,
                       thumbnail: "intro/figures/feature-diagrams.svg"),
            IndexEntry(name: "geometry", href: "geometry/report.html", summary: "D*", passed: 2, failed: 1),
        ])
        #expect(xmlProblem(html) == nil)
        #expect(html.contains("1 of 2 runs used the reduced --quick settings"))
        #expect(html.contains("<td>quick</td>") && html.contains("<td>full</td>"))
        #expect(occurrences(of: "<img class=\"thumbnail\" src=\"intro/figures/feature-diagrams.svg\"", in: html) == 1)
        #expect(html.contains(">3 of 3</td>") && html.contains(">2 of 3</td>") && html.contains("5 of 6 checks pass"))
    }
}
