import Foundation
import TMSModels

/// A progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise.
final class ProgressBar {
    let label: String
    var start = Date()
    /// Steps done when the bar was created lazily (its first update), so the rate counts from there.
    var baseline: Int?
    let interactive = isatty(STDERR_FILENO) != 0
    var lastDraw = Date.distantPast
    var lastDecile = -1

    init(label: String) { self.label = label }

    func update(_ p: TrainingProgress) {
        let now = Date()
        let done = p.step == p.totalSteps
        if baseline == nil { baseline = 0 }
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(p.step - baseline!) / max(elapsed, 1e-9)
        let fraction = Double(p.step) / Double(p.totalSteps)
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let text = String(format: "%@ [%@] %d/%d steps  %.0f steps/s  loss %.6g", label, bar, p.step, p.totalSteps, rate, p.meanLoss)
        if interactive {
            guard done || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r" + text + (done ? "\n" : "")).utf8))
        } else {
            let decile = Int(fraction * 10)
            guard decile != lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}
