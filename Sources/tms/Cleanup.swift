import Foundation
import TMSExperiments

/// Removes this process's hidden partial run folders (`.NAME.partial-PID`, see `RunFolder.partialURL`) in
/// the watched parent folders when the process is interrupted (SIGINT, SIGTERM), and the watched folders
/// themselves if they did not exist before and are empty, then exits with status 128 + signal.
///
/// The signals are blocked in the calling (main) thread, whose mask every later thread inherits (libdispatch's
/// workers block them too), and taken by a thread of our own with `sigwait`, so they are never lost to a
/// busy thread pool or an ignored disposition while training runs.
final class PartialFolderCleanup: Sendable {
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
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let waited = signals
        let waiter = Thread { [parents, missing] in
            var set = waited
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { return }
            Self.removePartials(in: parents)
            for folder in missing { rmdir(folder.path) }  // innermost first; only empty folders go
            Foundation.exit(128 + received)
        }
        waiter.start()
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
