// swift-tools-version:6.0
// libFuzzer targets for everything srgnn reads from outside. Built and run by scripts/fuzz.sh
// (`swift build --sanitize=fuzzer --sanitize=address`), never by `swift test`.
import PackageDescription

let package = Package(
    name: "srgnn-fuzz",
    dependencies: [
        .package(name: "srgnn", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "SRGNNKit", package: "srgnn")]),
        .executableTarget(name: "FuzzPickle", dependencies: ["FuzzSupport", .product(name: "SRGNNKit", package: "srgnn")]),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzSupport", .product(name: "SRGNNKit", package: "srgnn")]),
        .executableTarget(name: "FuzzClickLog", dependencies: ["FuzzSupport", .product(name: "SRGNNKit", package: "srgnn")]),
        .executableTarget(name: "FuzzDatasetFolder", dependencies: ["FuzzSupport", .product(name: "SRGNNKit", package: "srgnn")]),
        .executableTarget(name: "FuzzCatalog", dependencies: ["FuzzSupport", .product(name: "SRGNNKit", package: "srgnn")]),
        .executableTarget(
            name: "FuzzHTTPRequest",
            dependencies: [
                "FuzzSupport", .product(name: "SRGNNKit", package: "srgnn"), .product(name: "SRGNNServing", package: "srgnn"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
        .executableTarget(
            name: "FuzzEventBody",
            dependencies: [
                "FuzzSupport", .product(name: "SRGNNKit", package: "srgnn"), .product(name: "SRGNNServing", package: "srgnn"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ]),
    ]
)
