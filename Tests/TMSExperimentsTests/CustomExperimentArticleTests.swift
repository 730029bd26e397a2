// The DocC article "A custom experiment in a dozen lines"
// (Sources/TMSModels/TMSModels.docc/CustomExperiment.md) shows the code between the marker comments of this
// file: the imports, a blank line, then the body of the first test. The first test runs that code; the
// second checks that the article's only Swift code block is exactly that code, so the two cannot drift.
import Foundation
import Testing
// article: imports begin
import TMSModels
import TMSAnalysis
// article: imports end

@Suite("DocC article: a custom experiment in a dozen lines")
struct CustomExperimentArticleTests {
    @Test func fiveSparseFeaturesInTwoDimensionsFormAPentagon() throws {
        // article: body begin
        // 5 features in 2 hidden dimensions, each present 5 % of the time, all equally important.
        let config = TrainingConfig.standard(model: .reluOutput, featureCount: 5, hiddenCount: 2,
                                             featureProbabilities: [0.05], steps: 3_000,
                                             learningRate: 3e-3, bestOf: 3, seed: 1)
        let result = try Trainer(config: config).train()
        let W = result.weights.weightMatrix(instance: 0)  // 2×5: column i is feature i's direction

        // D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² is 2/5 for every vertex of a regular pentagon.
        let dimensionality = featureDimensionality(of: W)
        let angles = adjacentAngles2D(of: W)  // degrees between neighbouring features
        let isPentagon = angles.count == 5 && dimensionality.allSatisfy { abs($0 - 2.0 / 5) < 0.05 }
        // article: body end
        #expect(isPentagon, "D_i = \(dimensionality), angles = \(angles)")
        #expect(angles.allSatisfy { abs($0 - 72) < 12 }, "angles = \(angles)")
    }

    @Test func articleShowsExactlyTheTestedCode() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let testSource = try String(contentsOf: testFile, encoding: .utf8)
        let root = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let articleFile = root.appendingPathComponent("Sources/TMSModels/TMSModels.docc/CustomExperiment.md")
        let article = try String(contentsOf: articleFile, encoding: .utf8)

        let imports = try #require(markedRegion("imports", in: testSource))
        let body = try #require(markedRegion("body", in: testSource))
        let blocks = swiftCodeBlocks(in: article)
        #expect(blocks.count == 1, "the article should have exactly one ```swift block")
        #expect(blocks.first == imports + "\n" + body)
        #expect(body.split(separator: "\n").count <= 14, "a dozen lines, give or take the comments")
    }
}

/// The lines strictly between the lines `// article: NAME begin` and `// article: NAME end` (compared after
/// trimming), with their common indentation removed, each ending in a newline.
private func markedRegion(_ name: String, in source: String) -> String? {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let trimmed = lines.map { $0.trimmingCharacters(in: .whitespaces) }
    guard let begin = trimmed.firstIndex(of: "// article: \(name) begin"),
          let end = trimmed.firstIndex(of: "// article: \(name) end"), begin < end else { return nil }
    let region = lines[(begin + 1)..<end]
    let indent = region.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        .map { $0.prefix { $0 == " " }.count }.min() ?? 0
    return region.map { $0.count >= indent ? String($0.dropFirst(indent)) : "" }.map { $0 + "\n" }.joined()
}

/// The contents of every fenced ```swift code block of a Markdown text, each line ending in a newline.
private func swiftCodeBlocks(in markdown: String) -> [String] {
    var blocks: [String] = [], current: String? = nil
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
        if current == nil {
            if line.trimmingCharacters(in: .whitespaces) == "```swift" { current = "" }
        } else if line.trimmingCharacters(in: .whitespaces) == "```" {
            blocks.append(current!)
            current = nil
        } else {
            current! += line + "\n"
        }
    }
    return blocks
}

// Citations of the repository's docs (`docs/NAME.md#anchor` in code comments, the DocC catalogs and the
// README; `NAME.md#anchor` links between the docs pages) must name a heading that exists, so a renamed
// heading or a mistyped anchor fails here instead of leaving a dead link.
@Suite("Documentation citations resolve")
struct DocumentationCitationTests {
    @Test func everyCitedDocsAnchorIsAHeading() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = root.appendingPathComponent("docs")
        var problems: [String] = []
        func check(file: String, anchor: Substring?, citedIn source: String) {
            let target = docs.appendingPathComponent(file)
            guard let text = try? String(contentsOf: target, encoding: .utf8) else {
                problems.append("\(source): docs/\(file) does not exist"); return
            }
            if let anchor, !headingAnchors(in: text).contains(String(anchor)) {
                problems.append("\(source): docs/\(file)#\(anchor) names no heading")
            }
        }
        // Code, DocC catalogs and README: `docs/NAME.md` with an optional `#anchor`; the file must exist.
        let citation = /docs\/([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?/
        for file in sourceFiles(under: root, in: ["Sources", "Tests"]) + [root.appendingPathComponent("README.md")] {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for match in text.matches(of: citation) {
                check(file: String(match.1), anchor: match.2, citedIn: file.lastPathComponent)
            }
        }
        // Links between docs pages: `](NAME.md#anchor)` or `](#anchor)`; anchors are checked where the page
        // exists (pages that other work adds later are only checked once they are there).
        let link = /\]\(([a-z0-9-]+\.md)?#([a-z0-9-]+)\)/
        let pages = (try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []
        for page in pages where page.hasSuffix(".md") {
            let text = try String(contentsOf: docs.appendingPathComponent(page), encoding: .utf8)
            for match in text.matches(of: link) {
                let file = match.1.map(String.init) ?? page
                guard FileManager.default.fileExists(atPath: docs.appendingPathComponent(file).path) else { continue }
                check(file: file, anchor: match.2, citedIn: page)
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func headingAnchorsFollowGitHubRules() {
        #expect(headingAnchors(in: "# Title\n## The phase diagrams\n### `intro`\n## Superposition colour (D*)\n")
                == ["title", "the-phase-diagrams", "intro", "superposition-colour-d"])
    }
}

/// The anchors GitHub gives the headings of a Markdown text: lower case, punctuation other than `-` and
/// `_` dropped, spaces turned into hyphens (fenced code blocks skipped; duplicate headings not numbered).
private func headingAnchors(in markdown: String) -> Set<String> {
    var anchors = Set<String>(), inCode = false
    for line in markdown.split(separator: "\n") {
        if line.hasPrefix("```") { inCode.toggle(); continue }
        guard !inCode, line.hasPrefix("#") else { continue }
        let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
        let kept = title.filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" || $0 == "_" }
        anchors.insert(kept.replacingOccurrences(of: " ", with: "-"))
    }
    return anchors
}

/// Every `.swift` and `.md` file under the given folders of `root`.
private func sourceFiles(under root: URL, in folders: [String]) -> [URL] {
    folders.flatMap { folder -> [URL] in
        let enumerator = FileManager.default.enumerator(at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
        return (enumerator?.allObjects as? [URL] ?? []).filter { ["swift", "md"].contains($0.pathExtension) }
    }
}
