// swift-tools-version:6.1
import PackageDescription

// SIP parser benchmark: messages per second through `SIPMessage.parse(datagram:)`, the typed
// accessors a B2BUA reads per message, and `serialize(into:)`, for the messages of a basic call.
//
// `Sources/SIP` is a symlink to the real module, so the benchmark measures exactly the code the
// server ships. Run `Benchmarks/sip_parser.sh`.

/// The same upcoming features as the main package, so the sources compile identically.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SwitchboardSIPParserBenchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "SIP", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .executableTarget(
            name: "SIPParserBenchmark",
            dependencies: ["SIP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
    ]
)
