// swift-tools-version:6.1
import PackageDescription

// Coverage-guided fuzz targets (libFuzzer) for the SIP, RTP, WebRTC and XMLRPC modules.
//
// `Sources/SIP` is a symlink to the real module, so the fuzzers exercise exactly the code the
// server ships. Run everything with `Fuzz/run.sh`; see `Fuzz/README.md`.

/// The same upcoming features as the main package, so the SIP sources compile identically.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// libFuzzer coverage instrumentation and AddressSanitizer, plus the standard library's debug
/// preconditions (bounds checks on `UnsafeBufferPointer` subscripts) kept in optimized builds.
let instrumented: [SwiftSetting] = strict + [
    .unsafeFlags(["-sanitize=fuzzer,address", "-assert-config", "Debug"]),
]

/// A fuzz target: `LLVMFuzzerTestOneInput` in `<name>.swift`, and a `main.swift` that hands it to
/// the libFuzzer driver (SwiftPM links the executable's own `main`, so libFuzzer's is unused).
func fuzzer(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["SIP", "SIPFuzzSupport", .product(name: "NIOCore", package: "swift-nio")],
        swiftSettings: instrumented,
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    )
}

let package = Package(
    name: "SwitchboardFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // The real SIP module (symlinked source directory), instrumented.
        .target(
            name: "SIP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: instrumented
        ),
        // `LLVMFuzzerRunDriver` from libFuzzer (compiler-rt), declared in a shim header.
        .target(name: "CSwitchboardLibFuzzer"),
        // The properties the fuzzers check (round trips through the serializers) and the driver.
        .target(
            name: "SIPFuzzSupport",
            dependencies: ["SIP", "CSwitchboardLibFuzzer", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: instrumented
        ),
        fuzzer("SIPDatagramFuzzer"),
        fuzzer("SDPFuzzer"),
        fuzzer("SIPStreamFuzzer"),
        // The real RTP module (symlinked source directory), instrumented, and its fuzz target.
        .target(
            name: "RTP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: instrumented
        ),
        .executableTarget(
            name: "RTPFuzzer",
            dependencies: ["RTP", "SIPFuzzSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: instrumented,
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        ),
        // The real WebRTC module (symlinked source directory), instrumented, and its fuzz target.
        .target(
            name: "WebRTC",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: instrumented
        ),
        .executableTarget(
            name: "STUNFuzzer",
            dependencies: ["WebRTC", "SIPFuzzSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: instrumented,
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        ),
        // The real XMLRPC module (symlinked source directory) on system libxml2 (not
        // instrumented: coverage is the codec's), and its fuzz target.
        .systemLibrary(name: "CSwitchboardXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "XMLRPC", dependencies: ["CSwitchboardXML2"], swiftSettings: instrumented),
        .executableTarget(
            name: "XMLRPCFuzzer",
            dependencies: ["XMLRPC", "SIPFuzzSupport"],
            swiftSettings: instrumented,
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        ),
    ]
)
