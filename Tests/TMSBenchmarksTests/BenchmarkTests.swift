import Testing
import TMSBenchmarks
import TMSModels

// Benchmark.swift: the standard configurations, the FLOP count and the derived columns of a row (no timing:
// tests never time anything).

@Test func standardConfigurationsAreAToFWithTheirShapes() {
    let configs = BenchmarkConfiguration.standard()
    #expect(configs.map(\.name) == ["A", "B", "C", "D", "E", "F"])
    let shapes = configs.map { [$0.config.featureCount, $0.config.hiddenCount, $0.config.instanceCount] }
    #expect(shapes == [[5, 2, 10], [20, 5, 7], [400, 30, 8], [100, 40, 8], [2, 1, 400], [400, 30, 8]])
    #expect(configs.allSatisfy { $0.config.batchSize == 1024 && $0.config.steps == $0.warmupSteps + $0.timedSteps })
    #expect(configs[3].config.model == .abs)
}

@Test func stepScaleScalesWarmUpAndTimedStepsAndKeepsAtLeastOne() {
    let tenth = BenchmarkConfiguration.standard(stepScale: 0.1)
    #expect(tenth[0].warmupSteps == 100 && tenth[0].timedSteps == 3000)
    let tiny = BenchmarkConfiguration.standard(stepScale: 1e-9)
    #expect(tiny.allSatisfy { $0.warmupSteps == 1 && $0.timedSteps == 1 })
}

@Test func phaseGridConfigurationCoversTwentyDensitiesTimesTwentyImportances() {
    let e = BenchmarkConfiguration.standard()[4].config
    #expect(Set(e.featureProbability.map { $0[0] }).count == 20)
    #expect(Set(e.importance.map { $0[1] }).count == 20)
    #expect(abs(Double(e.featureProbability[0][0]) - 0.01) < 1e-6 && abs(Double(e.featureProbability[399][0]) - 1) < 1e-6)
}

@Test func flopsPerInstanceStepAreTenOrTwelveTimesBNM() {
    let configs = BenchmarkConfiguration.standard(batchSize: 8)
    // A: 10·8·5·2 = 800; D (abs): 12·8·100·40 = 384,000.
    #expect(configs[0].flopsPerInstanceStep == 800)
    #expect(configs[3].flopsPerInstanceStep == 384_000)
    #expect(BenchmarkConfiguration.flopFactor(.reluOutput) == 10 && BenchmarkConfiguration.flopFactor(.abs) == 12)
}

@Test func rowDerivesGFLOPsScalingAndFractionOfPeak() {
    let a = BenchmarkConfiguration.standard(batchSize: 8)[0]  // 800 FLOPs per instance-step
    let all = BenchmarkMeasurement(threads: 2, steps: 100, seconds: 0.5, instanceStepsPerSecond: 2_000_000,
                                   peakMemoryBytes: 10, otherProcessesCores: 0.05)
    let single = BenchmarkMeasurement(threads: 1, steps: 100, seconds: 1, instanceStepsPerSecond: 1_000_000,
                                      peakMemoryBytes: 30, otherProcessesCores: nil)
    let row = BenchmarkRow(configuration: a, all: [all], single: [single], peakSingle: 2, peakAll: 4)
    #expect(row.gflops == 1.6)  // 2e6 · 800 / 1e9
    #expect(row.fractionOfPeak == 0.4)
    #expect(row.threadScaling == 2)
    #expect(row.peakMemoryBytes == 30 && row.otherProcessesCores == 0.05)
    let alone = BenchmarkRow(configuration: a, all: [all], single: [], peakSingle: 2, peakAll: 4)
    #expect(alone.threadScaling == nil && alone.singleThreadInstanceStepsPerSecond == nil)
    #expect(alone.everySingleThreadRunInstanceStepsPerSecond.isEmpty)
}

@Test func rowReportsTheFastestRunOfEachThreadCountAndTheMostMemoryAndDisturbanceOfAny() {
    let a = BenchmarkConfiguration.standard(batchSize: 8)[0]  // 800 FLOPs per instance-step
    func run(_ threads: Int, _ rate: Double, memory: Int?, other: Double?) -> BenchmarkMeasurement {
        BenchmarkMeasurement(threads: threads, steps: 100, seconds: 100 * 10 / rate, instanceStepsPerSecond: rate,
                             peakMemoryBytes: memory, otherProcessesCores: other)
    }
    let all = [run(2, 1_500_000, memory: 10, other: 0.02), run(2, 2_500_000, memory: 12, other: 0.01),
               run(2, 2_000_000, memory: 40, other: nil)]
    let single = [run(1, 1_000_000, memory: 30, other: 0.3), run(1, 800_000, memory: 5, other: 0)]
    let row = BenchmarkRow(configuration: a, all: all, single: single, peakSingle: 2, peakAll: 4)
    #expect(row.instanceStepsPerSecond == 2_500_000 && row.singleThreadInstanceStepsPerSecond == 1_000_000)
    #expect(row.threadScaling == 2.5)
    #expect(row.gflops == 2)  // 2.5e6 · 800 / 1e9
    #expect(row.fractionOfPeak == 0.5)
    #expect(row.everyRunInstanceStepsPerSecond == [1_500_000, 2_500_000, 2_000_000])
    #expect(row.everySingleThreadRunInstanceStepsPerSecond == [1_000_000, 800_000])
    #expect(row.peakMemoryBytes == 40 && row.otherProcessesCores == 0.3)
}

@Test func disturbanceWarningOnlyBelowEightyFivePercentScaling() {
    #expect(Benchmark.disturbanceWarning(peakSingle: 100, peakAll: 180, threads: 2) == nil)
    let warning = Benchmark.disturbanceWarning(peakSingle: 100, peakAll: 160, threads: 2)
    #expect(warning?.hasPrefix("warning: the 2-thread FMA peak is only 1.60× the 1-thread peak") == true)
    #expect(Benchmark.disturbanceWarning(peakSingle: 100, peakAll: 10, threads: 1) == nil)
}
