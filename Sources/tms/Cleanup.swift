import Foundation
import TMSExperiments

/// Removes this process's hidden partial run folders (`.NAME.partial-PID`, see `RunFolder.partialURL`) in
/// the watched parent folders when the process is interrupted (SIGINT, SIGTERM), then exits with status
/// 128 + signal. Keep the value alive for as long as the folders may be written.
final class PartialFolderCleanup: @unchecked Sendable {
    private let parents: [URL]
    private var sources: [DispatchSourceSignal] = []

    init(parents: [URL]) {
        self.parents = parents
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [parents] in
                Self.removePartials(in: parents)
                Foundation.exit(128 + signalNumber)
            }
            source.resume()
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
