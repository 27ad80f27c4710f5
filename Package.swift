// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System C libraries, each behind a project-prefixed module with a shim header.
        .systemLibrary(name: "CSwitchboardOpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSwitchboardSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CSwitchboardOpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSwitchboardXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // epoll(7) and recvmmsg(2) for the media sockets' receive path (libc).
        .target(name: "CSwitchboardSocket"),

        // Signalling: sans-I/O SIP messages, SDP, transactions. Knows nothing of HTTP, store or domain.
        .target(
            name: "SIP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),

        // The signalling plane: SIP transports on SwiftNIO, the transaction layer, the B2BUA.
        .target(
            name: "B2BUA",
            dependencies: [
                "SIP", "Control", "MediaPlane",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // Media plane, protocol layer: RTP/RTCP packets, statistics, jitter buffer, telephone-event.
        .target(
            name: "RTP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Media plane, audio: G.711, G.722, Opus, resampling, the transcoding chain and its PCM taps.
        .target(
            name: "Media",
            dependencies: ["RTP", "CSwitchboardOpus", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // WebRTC transport: STUN (RFC 8489), ICE-lite (RFC 8445), consent freshness, RFC 7983 demultiplexing.
        .target(
            name: "WebRTC",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Media security: DTLS 1.2 through system OpenSSL (memory BIOs), SRTP through libsrtp2, SDES.
        .target(
            name: "SRTP",
            dependencies: ["CSwitchboardOpenSSL", "CSwitchboardSRTP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),

        // Media plane, per call: the SDP translation between the legs, the media session that owns
        // both legs' sockets, the port pool.
        .target(
            name: "MediaPlane",
            dependencies: [
                "SIP", "RTP", "Media", "WebRTC", "SRTP", "CSwitchboardSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // `serve --demo`: a SIP agent on 127.0.0.1:5080 that answers, greets and echoes.
        .target(
            name: "DemoCallCentre",
            dependencies: [
                "SIP", "Media", "RTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("greeting.ulaw")],
            swiftSettings: strict
        ),

        // The domain: widgets, widget sessions, API keys; the storage interface.
        .target(
            name: "Control",
            dependencies: [
                "SIP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // XML-RPC, sans-I/O: values, the decoder (libxml2, no entities, no network, bounded) and the encoder.
        .target(name: "XMLRPC", dependencies: ["CSwitchboardXML2"], swiftSettings: strict),
        // JSON ↔ XML-RPC values, for the XML-RPC faces of what REST and webhooks carry as JSON.
        .target(name: "XMLRPCJSON", dependencies: ["XMLRPC"], swiftSettings: strict),
        // The outbox sender: signed webhooks (Standard Webhooks) and XML-RPC push, with retries.
        .target(
            name: "Webhooks",
            dependencies: [
                "Control", "XMLRPC", "XMLRPCJSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Storage implementations behind Control's `Storage` interface.
        .target(
            name: "Store",
            dependencies: [
                "Control",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The HTTP face: REST (generated from OpenAPI/openapi.yaml), health, metrics, spec.
        .target(
            name: "HTTPAPI",
            dependencies: [
                "Control", "XMLRPC", "XMLRPCJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.embedInCode("openapi.yaml"), .embedInCode("callme.js"), .embedInCode("callme.d.ts"),
                .embedInCode("demo.html"), .embedInCode("crm.html"),
            ],
            swiftSettings: strict,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "Control",
                "Store",
                "HTTPAPI",
                "B2BUA",
                "DemoCallCentre",
                "MediaPlane",
                "Webhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        .testTarget(
            name: "SIPTests",
            dependencies: ["SIP", .product(name: "NIOTestUtils", package: "swift-nio")],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(name: "ControlTests", dependencies: ["Control"], swiftSettings: strict),
        .testTarget(name: "RTPTests", dependencies: ["RTP", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .testTarget(name: "MediaTests", dependencies: ["Media", "RTP"], swiftSettings: strict),
        .testTarget(name: "WebRTCTests", dependencies: ["WebRTC", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .testTarget(
            name: "MediaPlaneTests",
            dependencies: [
                "MediaPlane", "SIP", "RTP", "SRTP", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SRTPTests", dependencies: ["SRTP", "CSwitchboardSRTP", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "Control", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HTTPAPITests",
            dependencies: [
                "HTTPAPI", "Control", "Store",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "XMLRPCTests", dependencies: ["XMLRPC"], swiftSettings: strict),
        .testTarget(name: "WebhooksTests", dependencies: ["Webhooks", "Control", "Store", "XMLRPC"], swiftSettings: strict),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CSwitchboardOpenSSL", "CSwitchboardSRTP", "CSwitchboardOpus", "CSwitchboardXML2"]
        ),
    ]
)
