// swift-tools-version:6.1
import PackageDescription

// Media relay benchmark: relayed calls per core through the real sockets (SRTP ↔ RTP through
// `MediaPlane`), against the bound measured in the same run: a bare recvmmsg/sendmmsg UDP echo
// with the same sockets and traffic, plus libsrtp2's protect and unprotect per relayed pair.
// Also transcoded calls per core (Opus ↔ PCMU with speech, `MediaRelayBenchmark transcode`),
// against bare libopus and the resampler over the same frames, in the same run.
//
// `Sources/MediaPlane` and the modules under it are symlinks to the real modules, so the
// benchmark measures exactly the code the server ships. Run `Benchmarks/media_relay.sh` or
// `Benchmarks/media_transcode.sh`.

/// The same upcoming features as the main package, so the sources compile identically.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SwitchboardMediaRelayBenchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CSwitchboardOpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSwitchboardSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CSwitchboardOpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .target(name: "CSwitchboardSocket"),
        .target(name: "SIP", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .target(name: "RTP", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .target(
            name: "Media",
            dependencies: ["RTP", "CSwitchboardOpus", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "WebRTC",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "SRTP",
            dependencies: ["CSwitchboardOpenSSL", "CSwitchboardSRTP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "MediaPlane",
            dependencies: [
                "SIP", "RTP", "Media", "WebRTC", "SRTP", "CSwitchboardSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // recvmmsg, sendmmsg and epoll for the bare echo and the load generator.
        .target(name: "CMediaRelaySystem"),
        .executableTarget(
            name: "MediaRelayBenchmark",
            dependencies: [
                "CMediaRelaySystem", "MediaPlane", "Media", "SIP", "RTP", "WebRTC", "SRTP", "CSwitchboardSRTP", "CSwitchboardOpus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
