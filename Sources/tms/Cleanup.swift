import Foundation
import TMSExperiments

/// Removes this process's hidden partial run folders (`.NAME.partial-PID`, see `RunFolder.partialURL`) in
/// the watched parent folders when the process is interrupted (SIGINT, SIGTERM), and the watched folders
/// themselves if they did not exist before and are empty, then exits with status 128 + signal. Keep the
/// value alive for as long as the folders may be written.
final class PartialFolderCleanup: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    /// Watches the parent of the output folder `output`.
    convenience init(output: URL) { self.init(parents: [output.deletingLastPathComponent()]) }

    init(parents: [URL]) {
        // Folders that do not exist yet and may be created by the final write: removed again if empty.
        var missing: [URL] = []
        for parent in parents {
            var folder = parent
            while !FileManager.default.fileExists(atPath: folder.path), folder.path != folder.deletingLastPathComponent().path {
                missing.append(folder)
                folder = folder.deletingLastPathComponent()
            }
        }
        // A serial queue of its own: it gets a thread even while training keeps every worker of the global
        // pool busy (a handler on the global queue could wait until training ends).
        let queue = DispatchQueue(label: "tms.interrupts")
        for signalNumber in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [parents, missing] in
                Self.removePartials(in: parents)
                for folder in missing { rmdir(folder.path) }  // innermost first; only empty folders go
                Foundation.exit(128 + signalNumber)
            }
            source.resume()
            signal(signalNumber, SIG_IGN)  // after the source is listening, so no signal is lost in between
            sources.append(source)
        }
    }

    static func removePartials(in parents: [URL]) {
        let suffix = ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        for parent in parents {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { continue }  // never created
            for name in names where name.hasPrefix(".") && name.hasSuffix(suffix) {
                try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))  // best effort while exiting
            }
        }
    }
}
