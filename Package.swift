// swift-tools-version:6.0
import PackageDescription

// Numeric targets are compiled with optimisation even in debug builds (kernels run ~300× slower at -Onone,
// see docs/performance.md) and, on x86_64, with AVX2 + FMA so SIMD8<Float> maps to vector registers.
// TMSCoreAVX512 alone is compiled for AVX-512 too; TMSCore calls it only on processors that have it
// (docs/performance.md#avx-512-kernels).
#if arch(x86_64)
let vectorFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
let wideVectorFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mavx512f",
                                                     "-Xcc", "-mavx512vl"])]
#else
let vectorFlags: [SwiftSetting] = []
let wideVectorFlags: [SwiftSetting] = []
#endif
let numericSettings: [SwiftSetting] = vectorFlags + [.unsafeFlags(["-O"])]

let package = Package(
    name: "tms",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tms", targets: ["tms"]),
        .library(name: "TMSModels", targets: ["TMSModels"]),
        .library(name: "TMSAnalysis", targets: ["TMSAnalysis"]),
        .library(name: "TMSExperiments", targets: ["TMSExperiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Documentation only: `swift package generate-documentation --target TMSModels` (see docs/README.md).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Numbers only: storage, SIMD kernels, random streams, parallel-for, safetensors I/O.
        .target(name: "TMSCore", dependencies: ["TMSCoreAVX512"], swiftSettings: numericSettings,
                linkerSettings: [.linkedLibrary("m")]),
        // The dense products of TMSCore with 16 lanes, for processors with AVX-512 (chosen at run time).
        .target(name: "TMSCoreAVX512", swiftSettings: wideVectorFlags + [.unsafeFlags(["-O"])]),
        // Models, feature distributions, loss, optimisers, schedules, trainer.
        .target(name: "TMSModels", dependencies: ["TMSCore"], swiftSettings: numericSettings),
        // Pure functions of weight matrices.
        .target(name: "TMSAnalysis", dependencies: ["TMSCore"], swiftSettings: numericSettings),
        // SVG figures and HTML reports from values.
        .target(name: "TMSRender"),
        // The paper's named experiments, run folders, checks.
        .target(name: "TMSExperiments", dependencies: ["TMSCore", "TMSModels", "TMSAnalysis", "TMSRender"],
                swiftSettings: numericSettings),
        // Timing of training runs and of the machine's FP32 peak (`tms bench`); optimised like the kernels it times.
        .target(name: "TMSBenchmarks", dependencies: ["TMSCore", "TMSCoreAVX512", "TMSModels"], swiftSettings: numericSettings),
        // The command-line tool.
        .executableTarget(name: "tms", dependencies: [
            "TMSCore", "TMSModels", "TMSAnalysis", "TMSRender", "TMSExperiments", "TMSBenchmarks",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Plain Double reference implementations used to check the fast Float code.
        .target(name: "TMSTestSupport", dependencies: ["TMSCore", "TMSModels"], path: "Tests/TMSTestSupport"),
        .testTarget(name: "TMSCoreTests", dependencies: ["TMSCore", "TMSCoreAVX512"]),
        .testTarget(name: "TMSModelsTests", dependencies: ["TMSCore", "TMSModels", "TMSTestSupport"]),
        .testTarget(name: "TMSAnalysisTests", dependencies: ["TMSCore", "TMSAnalysis"]),
        // Golden/ holds the expected figures, read by path (Golden.swift), not bundled.
        .testTarget(name: "TMSRenderTests", dependencies: ["TMSRender"], exclude: ["Golden"]),
        .testTarget(name: "TMSExperimentsTests", dependencies: ["TMSExperiments", "TMSModels"]),
        .testTarget(name: "TMSBenchmarksTests", dependencies: ["TMSBenchmarks", "TMSModels"]),
        .testTarget(name: "TMSCLITests", dependencies: ["tms"]),
    ],
    swiftLanguageModes: [.v6]
)
