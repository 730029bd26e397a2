import Testing
import TMSBenchmarks

// ExternalProcess.swift: a subprocess's output, and a one-line ProcessError when it fails or is killed.

@Test func externalProcessReturnsStandardOutput() throws {
    #expect(try ExternalProcess.run(["printf", "a\\nb"]) == "a\nb")
}

@Test func nonZeroExitIsAProcessErrorNamingTheCommandAndStatus() {
    #expect(throws: ProcessError.failed(command: "sh -c exit 3", status: 3)) {
        try ExternalProcess.run(["sh", "-c", "exit 3"])
    }
    #expect(ProcessError.failed(command: "sh -c exit 3", status: 3).description == "sh -c exit 3 failed with exit status 3")
}

@Test func aMissingCommandFailsThroughEnvWithStatus127() {
    #expect(throws: ProcessError.failed(command: "tms-no-such-command-x", status: 127)) {
        try ExternalProcess.run(["tms-no-such-command-x"])
    }
}

@Test func aKilledProcessIsReportedWithItsSignal() {
    #expect(throws: ProcessError.killed(command: "sh -c kill -9 $$", signal: 9)) {
        try ExternalProcess.run(["sh", "-c", "kill -9 $$"])
    }
    #expect(ProcessError.killed(command: "x", signal: 9).description == "x was killed by signal 9")
}
