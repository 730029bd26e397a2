import Foundation
import TMSModels

/// A progress bar on stderr: on a terminal, one line redrawn in place (cleared first, so a shorter update
/// leaves nothing behind) at most 10 times a second; to a file or pipe, a plain line at 0, 25, 50, 75 and
/// 100 %.
final class ProgressBar {
    let label: String
    var start = Date()
    /// Steps done when the bar was created lazily (its first update), so the rate counts from there.
    var baseline: Int?
    let interactive = isatty(STDERR_FILENO) != 0
    var lastDraw = Date.distantPast
    var lastQuarter = -1

    init(label: String) { self.label = label }

    /// The text of one update.
    func line(_ p: TrainingProgress, elapsed: TimeInterval) -> String {
        let rate = Double(p.step - (baseline ?? 0)) / max(elapsed, 1e-9)
        let fraction = Double(p.step) / Double(max(1, p.totalSteps))
        let width = 24, filled = min(width, max(0, Int(fraction * Double(width))))
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        return String(format: "%@ [%@] %d/%d steps  %.0f steps/s  loss %.6g", label, bar, p.step, p.totalSteps, rate, p.meanLoss)
    }

    func update(_ p: TrainingProgress) {
        let now = Date()
        let done = p.step == p.totalSteps
        if baseline == nil { baseline = 0 }
        let text = line(p, elapsed: now.timeIntervalSince(start))
        if interactive {
            guard done || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            // \r to the line start, ESC[K clears to its end.
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text + (done ? "\n" : "")).utf8))
        } else {
            let quarter = Int(Double(p.step) / Double(max(1, p.totalSteps)) * 4)
            guard quarter != lastQuarter else { return }
            lastQuarter = quarter
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}
