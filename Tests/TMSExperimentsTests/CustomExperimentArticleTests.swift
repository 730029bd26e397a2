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
