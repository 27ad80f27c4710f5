// swift-tools-version:6.1
import PackageDescription

// Transcoding benchmark: the cost of the Opus ↔ G.711 chain per 20 ms frame, against the bare
// libopus and resampler work it cannot avoid, and PESQ material for the Opus complexity choice.
//
// `Sources/Media`, `Sources/RTP` and `Sources/CSwitchboardOpus` are symlinks to the real modules,
// so the benchmark measures exactly the code the server ships. Run `Benchmarks/transcoding.sh`.

/// The same upcoming features as the main package, so the sources compile identically.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SwitchboardTranscodingBenchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CSwitchboardOpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .target(name: "RTP", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .target(
            name: "Media",
            dependencies: ["RTP", "CSwitchboardOpus", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "TranscodingBenchmark",
            dependencies: ["Media", "CSwitchboardOpus"],
            swiftSettings: strict
        ),
    ]
)
