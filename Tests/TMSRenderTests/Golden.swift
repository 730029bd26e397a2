import Foundation
import Testing

// Golden files: rendered output compared byte for byte with text committed under Tests/TMSRenderTests/Golden/,
// so that any change to what a figure or report draws is seen in review.
//
// After an intended change, rewrite them and review the diff:
//
//     TMS_UPDATE_GOLDEN=1 swift test --filter TMSRenderTests
//     git diff Tests/TMSRenderTests/Golden
//
// With TMS_UPDATE_GOLDEN=1 the comparison is skipped and every golden file is rewritten.

/// The folder of the golden files, found from this source file's path (no bundle resources needed).
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

/// Whether this run rewrites the golden files instead of comparing with them.
var updatingGoldenFiles: Bool { ProcessInfo.processInfo.environment["TMS_UPDATE_GOLDEN"] == "1" }

/// Expects `text` to equal the golden file `name` (or writes it when ``updatingGoldenFiles``). On a mismatch
/// the message gives the first differing line of each.
func expectMatchesGolden(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = goldenDirectory.appendingPathComponent(name)
    if updatingGoldenFiles {
        try FileManager.default.createDirectory(at: goldenDirectory, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
        return
    }
    guard let golden = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("no golden file \(name) in \(goldenDirectory.path); create it with TMS_UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
        return
    }
    guard text != golden else { return }
    let produced = text.components(separatedBy: "\n"), expected = golden.components(separatedBy: "\n")
    let line = (0..<min(produced.count, expected.count)).first { produced[$0] != expected[$0] } ?? min(produced.count, expected.count)
    Issue.record("""
        \(name) differs from its golden file at line \(line + 1) (rewrite with TMS_UPDATE_GOLDEN=1 if the change is intended):
          golden:   \(line < expected.count ? expected[line] : "<end of file>")
          rendered: \(line < produced.count ? produced[line] : "<end of file>")
        """, sourceLocation: sourceLocation)
}

/// A file name for a test case's name: letters and digits kept, anything else becomes "-".
func goldenFileName(_ name: String, extension ext: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" }) + "." + ext
}
