// swift-tools-version:6.0
import PackageDescription

/// `SRGNN_BLAS=1 swift build …` links a BLAS library as the `blas` kernel path (OpenBLAS through
/// pkg-config on Linux, Accelerate on Apple platforms): a benchmark opponent and test oracle, off
/// by default so that a machine with only Swift builds and tests the package, and the release
/// binary links no BLAS. Every product runs on our own kernels (CKernels) either way.
let withBLAS = ["1", "true", "yes", "on"].contains((Context.environment["SRGNN_BLAS"] ?? "").lowercased())

/// OpenBLAS's C interface, declared only in a BLAS build (Apple platforms import Accelerate directly).
let blasTargets: [Target] =
    withBLAS
    ? [.systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])])]
    : []

let package = Package(
    name: "srgnn",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "srgnn", targets: ["SRGNNCLI"]),
        .library(
            name: "SRGNNKit", targets: ["TensorCore", "SessionData", "SRGNN", "Recommending", "Evaluation", "Training", "Experiments"]),
        .library(name: "SRGNNServing", targets: ["Serving"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // SHA-256 of checkpoint files (lineage, the served model's identity).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Bearer tokens on the service's admin routes.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        // Experiment files (`train --config`) and search spaces (`tune --space`).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "CKernels", exclude: ["README.md", "include/README.md"]),
        .target(
            name: "TensorCore",
            dependencies: ["CKernels"] + (withBLAS ? [.target(name: "CBLAS", condition: .when(platforms: [.linux]))] : []),
            exclude: ["README.md"],
            // The `blas` kernel path and BLASInfo's library exist only in a BLAS build.
            swiftSettings: withBLAS ? [.define("SRGNN_BLAS")] : []
        ),
        .target(name: "SessionData", dependencies: ["TensorCore"], exclude: ["README.md"]),
        .target(
            name: "SRGNN", dependencies: ["TensorCore", "SessionData", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"]),
        // The rule engine, request/answer types and JSON-lines batch engine of serve and recommend.
        .target(name: "Recommending", dependencies: ["TensorCore", "SessionData", "SRGNN", "Evaluation"], exclude: ["README.md"]),
        .target(name: "Evaluation", dependencies: ["TensorCore", "SessionData", "SRGNN"], exclude: ["README.md", "Baselines/README.md"]),
        .target(name: "Training", dependencies: ["TensorCore", "SessionData", "SRGNN", "Evaluation"], exclude: ["README.md"]),
        .target(
            name: "Experiments",
            dependencies: [
                "TensorCore", "SessionData", "SRGNN", "Evaluation", "Training",
                // Search-space and experiment files are YAML.
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["README.md", "Report/README.md"]
        ),
        .target(
            name: "Serving",
            dependencies: [
                "SRGNN", "SessionData", "Recommending", "Evaluation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                // SHA-256 of session ids: the A/B split's stable hash.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // The connection's own handlers (read deadline) and HTTP framing errors.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            exclude: ["README.md", "Controllers/README.md"],
            // The contract, answered at GET /openapi.yaml from the binary wherever it is installed
            // (`openapi.yaml` at the root links here).
            resources: [.embedInCode("openapi.yaml")]
        ),
        .executableTarget(
            name: "SRGNNCLI",
            dependencies: [
                "TensorCore", "SessionData", "SRGNN", "Recommending", "Evaluation", "Training", "Experiments", "Serving",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]
        ),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "SessionDataTests", dependencies: ["SessionData", "TestSupport"]),
        .testTarget(
            name: "SRGNNTests",
            dependencies: ["SRGNN", "Recommending", "SessionData", "TensorCore", "Training", "Evaluation", "TestSupport"]),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "Experiments", "SRGNN", "Recommending", "SessionData", "TensorCore", "TestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Experiments", "Evaluation", "SRGNN", "SessionData", "TensorCore", "TestSupport"]),
        // The `srgnn` executable end to end, and its option groups in process.
        .testTarget(
            name: "SRGNNCLITests",
            dependencies: [
                "SRGNNCLI", "Recommending", "Training", "Experiments", "Evaluation", "SessionData", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // The batch output against the service's answer, in memory.
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ServingTests",
            dependencies: [
                "Serving", "Recommending", "SRGNN", "SessionData", "Evaluation", "TensorCore", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ] + blasTargets
)
